/**
 * The schema of `recipe.json` (DESIGN §5). Unknown fields are an error naming the field, so a typo
 * in a recipe never silently falls back to a default.
 */
import { z } from 'zod';

const relativePath = z
  .string()
  .min(1)
  .refine((path) => !path.startsWith('/') && !path.split(/[\\/]/).includes('..'), {
    message: 'must be a relative path inside the recipe directory (no leading "/", no "..")',
  });

const sha256 = z.string().regex(/^[0-9a-f]{64}$/i, 'must be a 64-digit hex sha256');

export const recipeFileSchema = z.strictObject({
  path: relativePath,
  url: z.url({ protocol: /^https?$/ }),
  sha256,
});

export const recipeSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'must be 1-64 lowercase letters, digits, ".", "_" or "-"'),
  version: z.string().min(1).default('0.0.0'),
  capability: z.string().min(1).max(64),
  description: z.string().optional(),
  dependencies: z.array(z.string().min(1)).default([]),
  model: z.string().min(1).optional(),
  revision: z.string().min(1).optional(),
  entry: relativePath.refine((path) => path.endsWith('.py'), { message: 'must name a .py file' }),
  python: z.string().min(1).optional(),
  /** Handlers the pod runs at once. */
  concurrency: z.number().int().min(1).max(1024).default(1),
  /** Seconds a pod may sit idle before it is stopped; 0 = after each reply, -1 = never. */
  idleTimeout: z.number().min(-1).optional(),
  /** Expected memory use, used to make room before the first spawn (measured RSS wins afterwards). */
  memoryMB: z.number().positive().optional(),
  /** Default per-call timeout in seconds. */
  timeout: z.number().positive().optional(),
  /** Seconds the pod may take to send `ready` without a log line. */
  readyTimeout: z.number().positive().optional(),
  systemDependencies: z.array(z.string().min(1)).default([]),
  files: z.array(recipeFileSchema).default([]),
  env: z.record(z.string(), z.string()).default({}),
  /** Free-form settings handed to the pod as `ctx.config`. */
  config: z.record(z.string(), z.unknown()).default({}),
  /** Marks the recipe that serves its capability when several do. */
  default: z.boolean().default(false),
});

export type Recipe = z.infer<typeof recipeSchema>;
export type RecipeInput = z.input<typeof recipeSchema>;

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
