/**
 * Launchers in the daemon's `config.json`: which infrastructure serves which recipe is the user's,
 * not the recipe's. `launchers` names them, `placement` maps a recipe name to one; a recipe not in
 * the map runs locally.
 *
 *   "launchers": { "gpu": { "kind": "ray", "address": "10.0.0.5:6379", "resources": { "gpu_host": 1 } } },
 *   "placement": { "whisper-transcription": "gpu" }
 */
import { z } from 'zod';

/** The Ray release the bridge's tool env installs (the cluster must run the same). */
export const RAY_VERSION = '2.60.0';

const rayLauncherSchema = z.strictObject({
  kind: z.literal('ray'),
  /** The cluster's GCS address (`host:port`), or `ray://host:10001` for Ray Client. */
  address: z.string().min(1),
  /** Custom resources every pod of this launcher asks for (a recipe's memoryMB is added as `memory`). */
  resources: z.record(z.string(), z.number().positive()).default({}),
  /** CPUs a pod's actor holds on its node. @default 0 */
  numCpus: z.number().min(0).default(0),
  /** GPUs a pod's actor holds on its node. @default 0 */
  numGpus: z.number().min(0).default(0),
  /** Seconds a pod may wait for a node that has room before `NO_CAPACITY`. @default 120 */
  placementTimeout: z.number().positive().default(120),
  /** Seconds to join the cluster before `REMOTE_UNAVAILABLE`. @default 30 */
  connectTimeout: z.number().positive().default(30),
  /** Ray version of the cluster; the bridge's tool env installs it. @default RAY_VERSION */
  rayVersion: z.string().min(1).default(RAY_VERSION),
  /** An interpreter that already has that `ray` (else a tool env is built with uv on first use). */
  python: z.string().min(1).optional(),
  /** A folder of wheels on every node: pip installs the recipe's dependencies from it, offline. */
  wheelhouse: z.string().min(1).optional(),
  /** Ray namespace of the pods' actors. @default "podkeeper" */
  namespace: z.string().min(1).default('podkeeper'),
});

const commandLauncherSchema = z.strictObject({
  kind: z.literal('command'),
  /** The argv prefix, e.g. ["docker", "run", "-i", "--rm", "IMAGE"] or ["ssh", "gpu-box"]. */
  argv: z.array(z.string().min(1)).min(1),
  /** The interpreter on the other side. @default "python3" */
  python: z.string().min(1).default('python3'),
  /** The recipe folder on the other side. @default the local recipe folder (a shared filesystem) */
  recipeDir: z.string().min(1).optional(),
  /** Whether the pod runs on this machine (its memory then counts toward the budget). @default "remote" */
  locality: z.enum(['local', 'remote']).default('remote'),
});

const launcherConfigSchema = z.discriminatedUnion('kind', [rayLauncherSchema, commandLauncherSchema]);

export const launchersSchema = z.record(
  z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]*$/, 'must be lower-case letters, digits, - or _')
    .refine((name) => name !== 'local', 'is reserved (the built-in local launcher)'),
  launcherConfigSchema,
);

export const placementSchema = z.record(z.string().min(1), z.string().min(1));

export type RayLauncherConfig = z.infer<typeof rayLauncherSchema>;
export type CommandLauncherConfig = z.infer<typeof commandLauncherSchema>;
export type LauncherConfig = z.infer<typeof launcherConfigSchema>;
