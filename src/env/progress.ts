/**
 * Env build progress. The builder announces each phase as it starts it; the installer's own output
 * (uv's summary lines, pip's, apt's) is read line by line and turned into finer steps.
 */

export type EnvPhase =
  | 'waiting'
  | 'creating'
  | 'resolving'
  | 'downloading'
  | 'installing'
  | 'compiling'
  | 'system-packages'
  | 'checking';

export interface EnvProgress {
  phase: EnvPhase;
  message: string;
}

const PATTERNS: [RegExp, EnvPhase][] = [
  // uv
  [/^Resolved \d+ packages? in /, 'resolving'],
  [/^\s*Download(ing|ed) /, 'downloading'],
  [/^Prepared \d+ packages? in /, 'downloading'],
  [/^(Installed|Uninstalled) \d+ packages? in /, 'installing'],
  [/^ [-+~] \S/, 'installing'],
  [/^Bytecode compiled \d+ files? in /, 'compiling'],
  [/^(Audited|Checked) \d+ packages? in /, 'checking'],
  // pip
  [/^Collecting /, 'resolving'],
  [/^Installing collected packages/, 'installing'],
  [/^Successfully installed /, 'installing'],
  // apt
  [/^(Get|Hit):\d+ /, 'system-packages'],
  [/^(Unpacking|Setting up) /, 'system-packages'],
];

/** The progress an installer's output line stands for, or undefined for a line that says nothing. */
export function parseInstallerLine(line: string): EnvProgress | undefined {
  for (const [pattern, phase] of PATTERNS) {
    if (pattern.test(line)) return { phase, message: line.trim() };
  }
  return undefined;
}
