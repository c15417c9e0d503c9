import { type Command, Option } from 'commander';
import { PodkeeperError } from '../../errors.js';
import { completionScript, SHELLS, type Shell } from '../completion/scripts.js';
import { commandSpecs, recipeNames } from '../completion/spec.js';

export function registerCompletion(program: Command): void {
  program
    .command('completion')
    .description('print a completion script: bash, zsh or fish (commands, flags, recipe names)')
    .argument('[shell]', 'bash, zsh or fish')
    .addOption(new Option('--recipes', 'print the recipe names to complete (used by the scripts)').hideHelp())
    .action(async (shell: string | undefined, options: { recipes?: boolean }) => {
      if (options.recipes) {
        for (const name of await recipeNames()) process.stdout.write(`${name}\n`);
        return;
      }
      if (!SHELLS.includes(shell as Shell)) {
        throw new PodkeeperError(
          'BAD_REQUEST',
          `Which shell? \`podkeeper completion bash\`, \`zsh\` or \`fish\`${shell ? `, not "${shell}"` : ''}.`,
          { details: { field: 'shell', received: shell ?? null } },
        );
      }
      process.stdout.write(completionScript(shell as Shell, commandSpecs(program)));
    });
}
