import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { type ConnectionFlags, withClient, withConnectionOptions } from '../connection.js';
import { printJson } from '../output.js';
import { ProgressView } from '../progress.js';

export function registerInstall(program: Command): void {
  withConnectionOptions(program.command('install'))
    .description('install a recipe: a directory, a .tar.gz, an https URL (with --sha256) or an index name')
    .argument('<source>', 'where the recipe comes from')
    .option('--sha256 <hex>', 'expected sha256 of the archive')
    .option('--insecure', 'allow a remote source without --sha256')
    .option('--json', 'machine-readable output')
    .action(
      async (
        source: string,
        options: ConnectionFlags & { sha256?: string; insecure?: boolean; json?: boolean },
      ) => {
        const view = new ProgressView(!options.json && process.stderr.isTTY === true, options.json === true);
        const recipe = await withClient(options, (client) =>
          // The daemon runs elsewhere: a path is made absolute here, against this shell's directory.
          client.install(existsSync(source) || /^\.{0,2}\//.test(source) ? resolve(source) : source, {
            sha256: options.sha256,
            insecure: options.insecure,
            onProgress: (event) => {
              if (event.event === 'install.progress') view.show(event, event.step);
            },
          }),
        ).finally(() => view.stop());
        if (options.json) return printJson({ recipe });
        process.stdout.write(`installed ${recipe.name} ${recipe.version} (${recipe.capability})\n`);
      },
    );
}
