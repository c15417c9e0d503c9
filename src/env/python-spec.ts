/**
 * Does an interpreter version satisfy a recipe's `python` requirement (`>=3.10`, `~=3.11`,
 * `>=3.9,<3.13`, `==3.11.*`, or a bare `3.11`)? A PEP 440 subset for release versions, enough to
 * decide whether the base interpreter will do or uv must find (or download) another one. Anything it
 * cannot read answers `undefined`, and the requirement is then handed to uv as it is.
 */

type Release = number[];

const CLAUSE = /^(~=|===|==|!=|<=|>=|<|>)?\s*(\d+(?:\.\d+)*)(\.\*)?$/;

export function satisfiesPythonSpec(version: string, spec: string): boolean | undefined {
  const have = parseRelease(version);
  if (!have) return undefined;
  const clauses = spec
    .split(',')
    .map((clause) => clause.trim())
    .filter(Boolean);
  if (clauses.length === 0) return undefined;
  for (const clause of clauses) {
    const match = CLAUSE.exec(clause);
    if (!match) return undefined;
    const [, operator = '==', text = '', wildcard] = match;
    const want = parseRelease(text);
    if (!want) return undefined;
    const ok = holds(
      have,
      operator,
      want,
      wildcard !== undefined || (match[1] === undefined && want.length < 3),
    );
    if (ok === undefined) return undefined;
    if (!ok) return false;
  }
  return true;
}

function holds(have: Release, operator: string, want: Release, prefix: boolean): boolean | undefined {
  const order = compare(have, want);
  switch (operator) {
    case '==':
    case '===':
      return prefix ? startsWith(have, want) : order === 0;
    case '!=':
      return prefix ? !startsWith(have, want) : order !== 0;
    case '>=':
      return order >= 0;
    case '<=':
      return order <= 0;
    case '>':
      return order > 0;
    case '<':
      return order < 0;
    case '~=':
      // ~=3.11 means >=3.11,==3.*; ~=3.11.2 means >=3.11.2,==3.11.*
      if (want.length < 2) return undefined;
      return order >= 0 && startsWith(have, want.slice(0, -1));
    default:
      return undefined;
  }
}

function parseRelease(text: string): Release | undefined {
  const match = /^(\d+(?:\.\d+)*)/.exec(text.trim());
  return match?.[1] ? match[1].split('.').map(Number) : undefined;
}

function compare(a: Release, b: Release): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const diff = (a[i] ?? 0) - (b[i] ?? 0);
    if (diff !== 0) return Math.sign(diff);
  }
  return 0;
}

function startsWith(have: Release, prefix: Release): boolean {
  return prefix.every((part, i) => have[i] === part);
}
