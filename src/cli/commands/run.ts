import type { Command } from 'commander';
import { jsonInput, seconds } from '../parse.js';

/** `run`: no daemon. Starts the recipe in-process, calls it once, stops it: for recipe authors. */
export function registerRun(program: Command): void {
  program
    .command('run')
    .description('without a daemon: start TARGET in-process, call it once, print the result, stop it')
    .argument('<target>', 'recipe name or capability')
    .argument('[input]', 'JSON input, or - to read it from stdin', '{}')
    .option('-a, --action <action>', 'recipe action', 'process')
    .option('-t, --timeout <sec>', 'seconds without an answer before TIMEOUT', seconds)
    .action(async (target: string, input: string, options: { action: string; timeout?: number }) => {
      const payload = jsonInput(input);
      const { PodManager } = await import('../../manager/pod-manager.js');
      const manager = new PodManager({ idleTimeout: -1 });
      try {
        const result = await manager.call(target, payload, {
          action: options.action,
          timeout: options.timeout,
          onEvent: (event) => {
            if (event.type === 'chunk') process.stdout.write(`${JSON.stringify(event.data)}\n`);
            else
              process.stderr.write(`progress ${Math.round(event.progress * 100)}% ${event.message ?? ''}\n`);
          },
        });
        process.stdout.write(`${JSON.stringify(result)}\n`);
      } finally {
        await manager.close();
      }
    });
}
