import type { Handler } from '../context.js';

/**
 * `cancel`: ends another request of the same connection. A call is answered `CANCELLED` (the pod is
 * asked to cancel it); a stream is answered `{}`. Answers `{cancelled:false}` when nothing matched.
 */
export const handleCancel: Handler<'cancel'> = async (payload, context) => ({
  cancelled: context.cancel(payload.id),
});
