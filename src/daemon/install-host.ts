/**
 * The installer's view of a `PodManager`: the narrow `InstallHost` the install layer declares, wired
 * here (the composition root) so that neither the manager nor the installer knows the other.
 */
import type { InstallHost } from '../install/host.js';
import type { PodManager } from '../manager/pod-manager.js';

export function installHostOf(manager: PodManager): InstallHost {
  return {
    home: manager.options.home,
    podEnvironment: manager.options.env,
    prepareEnv: async (loaded, onProgress) => {
      const dispose = manager.events.on('event', (event) => {
        if (event.event === 'env.progress' && event.recipe === loaded.recipe.name)
          onProgress?.(event.message);
      });
      try {
        return await manager.prepareEnv(loaded);
      } finally {
        dispose();
      }
    },
    smokeStart: (loaded, options) => manager.smokeStart(loaded, options),
    reloadRecipes: () => manager.reloadRecipes(),
    recipes: () => manager.recipes(),
  };
}
