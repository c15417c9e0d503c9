/**
 * The library's first import: on a Node older than podkeeper needs, importing it fails at once with
 * `UNSUPPORTED_NODE` saying which Node is needed, instead of a `TypeError` from deep inside a
 * dependency (`TEXT_ENCODINGS.union is not a function` on Node 20). Imports are evaluated in order,
 * so this runs before any module that needs a newer Node; it uses nothing newer than Node 16 itself.
 */
import { PodkeeperError } from './errors.js';

/** The oldest Node podkeeper runs on (package.json `engines`). */
const MIN_NODE = '22.12.0';

/** Why this Node cannot run podkeeper, or undefined when it can. */
export function nodeProblem(version: string = process.versions.node): string | undefined {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const [needMajor = 0, needMinor = 0] = MIN_NODE.split('.').map(Number);
  if (major > needMajor || (major === needMajor && minor >= needMinor)) return undefined;
  return (
    `podkeeper needs Node >= ${MIN_NODE}; this is Node ${version} (${process.execPath}). ` +
    'Run your program with Node 22.12 or newer (nvm install 22, or `npx -p node@22 node app.js`).'
  );
}

const problem = nodeProblem();
if (problem !== undefined) {
  throw new PodkeeperError('UNSUPPORTED_NODE', problem, {
    details: { node: process.versions.node, required: `>=${MIN_NODE}` },
  });
}
