/**
 * Model prefetch (worker-tetra's cache-ahead): a recipe's `model`, a Hugging Face repo id at a
 * pinned `revision`, is downloaded at install time with huggingface_hub, run by the interpreter of
 * the recipe's own env, into `$PODKEEPER_HOME/models/huggingface`. A snapshot already in the cache is
 * found without a request (`local_files_only` first). `HF_TOKEN`, `HF_ENDPOINT` and
 * `HF_HUB_ENABLE_HF_TRANSFER` come from the environment; the token is never logged, and is scrubbed
 * from any output quoted in an error.
 */

import { PodkeeperError } from '../errors.js';
import { type CommandResult, describeFailure, runCommand } from '../process/command.js';

export interface ModelPrefetchOptions {
  /** The interpreter of the recipe's env. */
  python: string;
  repo: string;
  /** @default "main" (then resolved to a commit and recorded) */
  revision?: string;
  cacheDir: string;
  /** The whole environment of the download (the daemon's, the manager's `env`, the recipe's `env`). */
  env: Record<string, string | undefined>;
  timeoutMs: number;
  signal?: AbortSignal;
  onProgress?: (fraction: number | undefined, message: string) => void;
}

export interface PrefetchedModel {
  repo: string;
  revision: string;
  commit: string;
  /** The snapshot folder: what the pod gets as `ctx.model`. */
  path: string;
  cached: boolean;
}

/** Exit code of the script when huggingface_hub cannot be imported by that interpreter. */
const NO_HUB_EXIT = 3;

const SCRIPT = `
import json, os, sys, time
spec = json.loads(sys.argv[1])
out = os.fdopen(os.dup(1), "w", buffering=1)
sys.stdout = sys.stderr
def say(**message):
    out.write(json.dumps(message) + "\\n")
if os.environ.get("HF_HUB_ENABLE_HF_TRANSFER", "").lower() in ("1", "true", "yes", "on"):
    import importlib.util
    if importlib.util.find_spec("hf_transfer") is None:
        os.environ.pop("HF_HUB_ENABLE_HF_TRANSFER")
        say(note="hf_transfer is enabled but not installed in this env: downloading without it")
try:
    from huggingface_hub import snapshot_download
except ImportError as error:
    say(error="huggingface_hub is not installed in this env (%s)" % error)
    sys.exit(${NO_HUB_EXIT})
kwargs = dict(repo_id=spec["repo"], revision=spec["revision"], cache_dir=spec["cache"])
try:
    from tqdm.std import tqdm as base
    class Reporter(base):
        last = 0.0
        def __init__(self, *args, **kw):
            kw["file"] = open(os.devnull, "w")
            kw["disable"] = False
            super().__init__(*args, **kw)
        def display(self, msg=None, pos=None):
            now = time.monotonic()
            if getattr(self, "unit", "") == "B" and self.total and now - Reporter.last > 0.5:
                Reporter.last = now
                say(progress=min(1.0, self.n / self.total), bytes=self.n, total=self.total)
            return True
    kwargs["tqdm_class"] = Reporter
except Exception:
    pass
try:
    path = snapshot_download(local_files_only=True, **{k: v for k, v in kwargs.items() if k != "tqdm_class"})
    cached = True
except Exception:
    say(note="downloading %s at %s" % (spec["repo"], spec["revision"]))
    path = snapshot_download(**kwargs)
    cached = False
say(done=True, path=path, commit=os.path.basename(os.path.normpath(path)), cached=cached)
`;

export async function prefetchModel(options: ModelPrefetchOptions): Promise<PrefetchedModel> {
  const revision = options.revision ?? 'main';
  const spec = JSON.stringify({ repo: options.repo, revision, cache: options.cacheDir });
  let done: { path: string; commit: string; cached: boolean } | undefined;
  const result = await runCommand(options.python, ['-c', SCRIPT, spec], {
    env: { ...options.env, PYTHONUNBUFFERED: '1' },
    timeoutMs: options.timeoutMs,
    signal: options.signal,
    onLine: (line, stream) => {
      if (stream !== 'stdout' || !line.startsWith('{')) return;
      let message: Record<string, unknown>;
      try {
        message = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      if (message['done'] === true) {
        done = {
          path: String(message['path']),
          commit: String(message['commit']),
          cached: message['cached'] === true,
        };
      } else if (typeof message['progress'] === 'number') {
        const total = Number(message['total']);
        options.onProgress?.(
          message['progress'],
          `model ${options.repo}: ${mb(Number(message['bytes']))} of ${mb(total)}`,
        );
      } else if (typeof message['note'] === 'string') {
        options.onProgress?.(undefined, message['note']);
      }
    },
  });
  if (result.exitCode === 0 && done) {
    return { repo: options.repo, revision, ...done };
  }
  if (result.exitCode === NO_HUB_EXIT) {
    throw new PodkeeperError('INSTALL_FAILED', 'huggingface_hub is not installed in the recipe env.', {
      details: { step: 'prefetch', reason: 'no-hub' },
    });
  }
  throw new PodkeeperError(
    'INSTALL_FAILED',
    `Could not download the model ${options.repo} at revision ${revision}: ${scrub(result, options.env)}`,
    { details: { step: 'prefetch', model: options.repo, revision } },
  );
}

/** The command's failure, with every secret of the environment replaced by `***`. */
function scrub(result: CommandResult, env: Record<string, string | undefined>): string {
  let text = describeFailure({ ...result, args: ['-c', '<prefetch script>'] });
  for (const key of ['HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN']) {
    const secret = env[key];
    if (secret && secret.length >= 4) text = text.split(secret).join('***');
  }
  return text;
}

function mb(bytes: number): string {
  return Number.isFinite(bytes) ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : '?';
}
