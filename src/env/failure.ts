/** The one place an env failure becomes an `ENV_BUILD_FAILED` error with its facts. */
import { PodkeeperError } from '../errors.js';
import { type CommandResult, describeFailure } from '../process/command.js';
import { redact } from '../redact.js';
import { failingRequirement } from './requirements.js';

export interface FailureContext {
  recipe: string;
  /** The env hash (venv mode). */
  hash?: string;
  requirements: readonly string[];
  /** What was being done: "creating the venv", "installing the dependencies"... */
  step: string;
  /** The next step for the user. @default fix or provide the failing dependency */
  hint?: string;
}

const DEFAULT_HINT =
  'Fix the dependency (or make it available: wheelhouse, index, network) and call again; ' +
  'a failed build is retried after a short pause or as soon as the recipe changes.';

export function envBuildFailed(context: FailureContext, result: CommandResult): PodkeeperError {
  // Credentials in a requirement URL (or echoed by the installer) are hidden before anything is shown.
  const output = result.outputTail
    .filter((line) => line.trim() && !/^Using .* (environment|interpreter) at/.test(line))
    .map(redact);
  const requirements = context.requirements.map(redact);
  const shown = { ...result, args: result.args.map(redact), outputTail: output };
  // A command killed by the clock says nothing about its requirements: blame the limit, not them.
  const requirement = result.timedOut ? undefined : failingRequirement(requirements, output.join('\n'));
  const detail = describeFailure(shown);
  const hint = result.timedOut ? timeoutHint(result.timeoutMs) : (context.hint ?? DEFAULT_HINT);
  return new PodkeeperError(
    'ENV_BUILD_FAILED',
    `The environment of recipe "${context.recipe}" could not be built (${context.step}): ${detail}` +
      (requirement ? `\nFailing requirement: ${requirement}.` : '') +
      `\n${hint}`,
    {
      details: {
        recipe: context.recipe,
        ...(context.hash ? { hash: context.hash } : {}),
        ...(requirement ? { requirement } : {}),
        step: context.step,
        command: [shown.command, ...shown.args].join(' '),
        exitCode: result.exitCode,
        signal: result.signal,
        timedOut: result.timedOut,
        ...(result.timedOut ? { timeoutSeconds: result.timeoutMs / 1000 } : {}),
        output,
      },
    },
  );
}

/** What to do when an env command ran out of time (a big download on a slow link, a stalled index). */
function timeoutHint(timeoutMs: number): string {
  return (
    `Raise \`--env-build-timeout\` (now ${timeoutMs / 1000} s per command; ` +
    'env PODKEEPER_ENV_BUILD_TIMEOUT, or `envBuildTimeout` in config.json) for large downloads or a slow ' +
    'link, or check that the package index answers; then call again.'
  );
}

/** A failure podkeeper finds by itself (no command to quote). */
export function envProblem(context: Omit<FailureContext, 'requirements'>, message: string): PodkeeperError {
  return new PodkeeperError(
    'ENV_BUILD_FAILED',
    `The environment of recipe "${context.recipe}": ${redact(message)}`,
    {
      details: {
        recipe: context.recipe,
        ...(context.hash ? { hash: context.hash } : {}),
        step: context.step,
      },
    },
  );
}
