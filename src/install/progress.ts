/** Install progress as steps report it: `{step, progress?, message?}`, the fraction clamped to 0..1. */
import type { InstallProgress, InstallRequest } from './types.js';

export type Reporter = (step: string, fraction?: number, message?: string) => void;

export function reporter(onProgress: InstallRequest['onProgress']): Reporter {
  return (step, fraction, message) => {
    if (!onProgress) return;
    const event: InstallProgress = { step };
    if (fraction !== undefined && Number.isFinite(fraction))
      event.progress = Math.min(1, Math.max(0, fraction));
    if (message !== undefined) event.message = message;
    onProgress(event);
  };
}
