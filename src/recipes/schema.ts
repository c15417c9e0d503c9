/**
 * The schema of `recipe.json` (docs/architecture.md#recipes). Unknown fields are an error naming
 * the field, so a typo in a recipe never silently falls back to a default.
 * `recipes/recipe.schema.json` is exported from it (see ./json-schema.ts) for recipe authors'
 * editors.
 */
import { z } from 'zod';

const relativePath = z
  .string()
  .min(1)
  .refine((path) => !path.startsWith('/') && !path.split(/[\\/]/).includes('..'), {
    message: 'must be a relative path inside the recipe directory (no leading "/", no "..")',
  });

const sha256 = z.string().regex(/^[0-9a-f]{64}$/i, 'must be a 64-digit hex sha256');

const recipeFileSchema = z
  .strictObject({
    path: relativePath.describe('Where the file goes, relative to the recipe directory.'),
    url: z.url({ protocol: /^https?$/ }).describe('An http(s) URL to download it from.'),
    sha256: sha256.describe('Its sha256; a download that does not match is refused.'),
  })
  .describe('A file downloaded into the recipe at install time (skipped when cached).');

/** What a recipe name may be: safe as a folder name, a URL segment and a shell word. */
export const RECIPE_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export const recipeSchema = z
  .strictObject({
    $schema: z.string().optional().describe('Where an editor finds this schema; ignored by podkeeper.'),
    name: z
      .string()
      .regex(RECIPE_NAME, 'must be 1-64 lowercase letters, digits, ".", "_" or "-"')
      .describe('The recipe name: what `podkeeper call NAME` and `podkeeper remove NAME` use.'),
    version: z.string().min(1).default('0.0.0').describe('The recipe version, shown by `podkeeper recipes`.'),
    capability: z
      .string()
      .min(1)
      .max(64)
      .describe('What it does (e.g. "embeddings"); a call may name the capability instead of the recipe.'),
    description: z.string().optional(),
    dependencies: z
      .array(z.string().min(1))
      .default([])
      .describe('pip requirements, installed into a venv shared by recipes with the same set.'),
    model: z
      .string()
      .min(1)
      .optional()
      .describe(
        'A Hugging Face repo id, downloaded at install time into the daemon cache; the pod gets its local path in `ctx.model`.',
      ),
    revision: z
      .string()
      .min(1)
      .optional()
      .describe('The model revision: a commit hash (a branch or tag is resolved and recorded at install).'),
    entry: relativePath
      .refine((path) => path.endsWith('.py'), { message: 'must name a .py file' })
      .describe('The Python file defining `setup(ctx)` (optional) and `process(payload, ctx)`.'),
    python: z.string().min(1).optional().describe('A Python version requirement, e.g. ">=3.10".'),
    concurrency: z.number().int().min(1).max(1024).default(1).describe('Handlers the pod runs at once.'),
    idleTimeout: z
      .number()
      .min(-1)
      .optional()
      .describe('Seconds a pod may sit idle before it is stopped; 0 = after each reply, -1 = never.'),
    memoryMB: z
      .number()
      .positive()
      .optional()
      .describe('Expected memory use, to make room before the first spawn (measured RSS wins afterwards).'),
    timeout: z.number().positive().optional().describe('Default per-call timeout in seconds.'),
    readyTimeout: z
      .number()
      .positive()
      .optional()
      .describe('Seconds the pod may take to send `ready` without a log line.'),
    preload: z
      .array(
        z
          .string()
          .regex(
            /^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*(:[A-Za-z_][\w]*)?$/,
            'must be a module name ("numpy") or module:function ("warm:preload")',
          ),
      )
      .default([])
      .describe(
        'Modules a zygote imports once (and `module:function` entries it calls after them) so that pods fork from it instead of importing them again. See "Fast cold starts (preload)" in the README.',
      ),
    systemDependencies: z
      .array(z.string().min(1))
      .default([])
      .describe('Programs the recipe needs on PATH (e.g. "ffmpeg").'),
    files: z.array(recipeFileSchema).default([]),
    env: z
      .record(z.string(), z.string())
      .default({})
      .describe('Environment variables for the pod (and for the model download).'),
    passEnv: z
      .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name'))
      .default([])
      .describe(
        'Variables of the daemon\'s environment the pod needs beyond the base set (e.g. "HF_TOKEN"); no other is passed.',
      ),
    config: z
      .record(z.string(), z.unknown())
      .default({})
      .describe('Free-form settings handed to the pod as `ctx.config`.'),
    default: z
      .boolean()
      .default(false)
      .describe('Marks the recipe that serves its capability when several do.'),
  })
  .describe('A podkeeper recipe: a folder holding this recipe.json and its entry script.');

export type Recipe = z.infer<typeof recipeSchema>;

/** Turns zod issues into one line per problem, each naming the field: `concurrency: expected ...`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.join('.');
      if (issue.code === 'unrecognized_keys') {
        const keys = issue.keys.map((key) => (path ? `${path}.${key}` : key));
        return `unknown field${keys.length > 1 ? 's' : ''} ${keys.map((key) => `"${key}"`).join(', ')}`;
      }
      return `${path || '(root)'}: ${issue.message}`;
    })
    .join('; ');
}
