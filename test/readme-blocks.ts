/**
 * The fenced code blocks of a Markdown file, each with what the README says to do with it: a
 * `<!-- not-run: REASON -->` line just before a block says why the test does not run it, and a
 * `<!-- file: PATH -->` line says the block is a file the later examples use. Everything else must be
 * a language the README test runs, or `blocks()` refuses the file: nothing is skipped silently.
 * A ```text block right after a run block (blank lines between at most) is the output that block
 * prints on stdout, which the test compares: `…` in it stands for any text within a line.
 */
import { readFileSync } from 'node:fs';

export type Kind = 'ts' | 'python' | 'sh';

export type Block =
  | { line: number; code: string; do: 'run'; kind: Kind; output?: string }
  | { line: number; code: string; do: 'file'; path: string }
  | { line: number; code: string; do: 'skip'; reason: string };

const RUNNABLE: Record<string, Kind> = { ts: 'ts', js: 'ts', python: 'python', sh: 'sh' };

export function readmeBlocks(file: string): Block[] {
  return parseBlocks(readFileSync(file, 'utf8'), file);
}

export function parseBlocks(text: string, name = 'README'): Block[] {
  const lines = text.split('\n');
  const found: Block[] = [];
  let previousEnd = -1;
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i] ?? '');
    if (!open) continue;
    const end = lines.findIndex((l, j) => j > i && l.startsWith('```'));
    if (end < 0) throw new Error(`${name}:${i + 1}: a code block that is never closed`);
    const code = `${lines.slice(i + 1, end).join('\n')}\n`;
    const marker = /^<!--\s*(not-run|file):\s*(.*?)\s*-->\s*$/.exec(lines[i - 1] ?? '');
    const line = i + 1;
    const lang = open[1] ?? '';
    const previous = found.at(-1);
    if (lang === 'text' && !marker) {
      const between = lines.slice(previousEnd + 1, i);
      if (previous?.do !== 'run' || previous.output !== undefined || between.some((l) => l.trim() !== ''))
        throw new Error(
          `${name}:${line}: a \`text\` block shows output: put it right after the block that prints it`,
        );
      previous.output = code;
      previousEnd = end;
      i = end;
      continue;
    }
    if (marker?.[1] === 'not-run') {
      if (!marker[2]) throw new Error(`${name}:${line}: <!-- not-run: --> must give its reason`);
      found.push({ line, code, do: 'skip', reason: marker[2] });
    } else if (marker?.[1] === 'file' && marker[2]) {
      found.push({ line, code, do: 'file', path: marker[2] });
    } else {
      const kind = RUNNABLE[lang];
      if (!kind)
        throw new Error(
          `${name}:${line}: a \`${lang || 'plain'}\` block the README test cannot run: ` +
            'mark it <!-- not-run: REASON --> or <!-- file: PATH --> on the line before',
        );
      found.push({ line, code, do: 'run', kind });
    }
    previousEnd = end;
    i = end;
  }
  return found;
}

/** Whether `actual` is the output `shown`: the same lines, `…` in a shown line matching any text. */
export function matchesShown(actual: string, shown: string): boolean {
  const want = shown.trimEnd().split('\n');
  const got = actual.trimEnd().split('\n');
  if (want.length !== got.length) return false;
  return want.every((line, i) => {
    const pattern = line
      .trimEnd()
      .split('…')
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*');
    return new RegExp(`^${pattern}$`).test((got[i] ?? '').trimEnd());
  });
}
