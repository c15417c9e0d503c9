import type { Handler } from '../context.js';

/** `gc`: removes the Python envs no known recipe needs (never one a live pod or a build uses). */
export const handleGc: Handler<'gc'> = async (_payload, { manager }) => manager.gc();
