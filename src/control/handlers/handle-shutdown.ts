import type { Handler } from '../context.js';

/** `shutdown`: answers `{}`, then the daemon stops gracefully (in-flight calls finish first). */
export const handleShutdown: Handler<'shutdown'> = async (_payload, { services }) => {
  services.requestShutdown('shutdown action');
  return {};
};
