import type { Handler } from '../context.js';

/** `recipes.install`: hands the source to the daemon's installer; its progress comes as events. */
export const handleRecipesInstall: Handler<'recipes.install'> = async (payload, context) => ({
  recipe: await context.services.installer.install({
    source: payload.source,
    sha256: payload.sha256,
    insecure: payload.insecure,
    signal: context.signal,
    onProgress: (progress) => context.emit({ event: 'install.progress', ...progress }),
  }),
});
