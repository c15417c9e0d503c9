import type { Command } from 'commander';
import type { PodkeeperClient } from '../../client/client.js';
import { isPodkeeperError } from '../../errors.js';
import { bytesAsBase64 } from '../../transport/frames.js';
import { inputWithFile, writeOutputFile } from '../byte-files.js';
import { type ConnectionFlags, withClient, withConnectionOptions } from '../connection.js';
import { EXIT } from '../exit-codes.js';
import { printJson } from '../output.js';
import { jsonInput, keepAlive, timeoutSeconds } from '../parse.js';
import { ProgressView } from '../progress.js';

interface CallFlags extends ConnectionFlags {
  action?: string;
  timeout?: number;
  keepAlive?: number;
  json?: boolean;
  pull?: boolean;
  inputFile?: string;
  inputField?: string;
  outputFile?: string;
}

export function registerCall(program: Command): void {
  withConnectionOptions(program.command('call'))
    .description('call a recipe through the daemon: chunks as they come, then the result JSON on stdout')
    .argument('<target>', 'recipe name or capability')
    .argument('[input]', 'JSON input, or - to read it from stdin', '{}')
    .option('-a, --action <action>', 'recipe action (default "process")')
    .option(
      '-t, --timeout <sec>',
      'seconds (> 0) without an answer or progress before TIMEOUT',
      timeoutSeconds,
    )
    .option(
      '-k, --keep-alive <sec>',
      'seconds the pod stays after this call; 0 = stop after it, -1 = never',
      keepAlive,
    )
    .option('--input-file <path>', "the file's bytes as the input (or as --input-field of the JSON input)")
    .option('--input-field <name>', 'with --input-file: the field of the JSON input that gets the bytes')
    .option(
      '--output-file <path>',
      "write the result's bytes to this file; the rest of the result is printed",
    )
    .option('--pull', 'install the recipe from the recipe index first when it is not installed')
    .option('--json', 'compact output for scripts: one JSON line per chunk, then the result on one line')
    .action(async (target: string, inputText: string, options: CallFlags) => {
      const json = jsonInput(inputText);
      const input =
        options.inputFile === undefined ? json : inputWithFile(json, options.inputFile, options.inputField);
      const progress = new ProgressView(
        !options.json && process.stderr.isTTY === true,
        options.json === true,
      );
      await withClient(options, async (client) => {
        try {
          await callOnce(client, target, input, options, progress);
        } catch (error) {
          const entry = isPodkeeperError(error, 'UNKNOWN_TARGET') ? error.details['installable'] : undefined;
          if (!options.pull || typeof entry !== 'object' || entry === null) throw error;
          await pull(client, (entry as { name: string }).name, progress);
          await callOnce(client, target, input, options, progress);
        }
      });
    });
}

async function callOnce(
  client: PodkeeperClient,
  target: string,
  input: unknown,
  options: CallFlags,
  progress: ProgressView,
): Promise<void> {
  const call = client.call(target, input, {
    action: options.action,
    timeout: options.timeout,
    keepAlive: options.keepAlive,
    onEvent: (event) => {
      if (event.type === 'chunk') {
        progress.pause();
        process.stdout.write(`${JSON.stringify(bytesAsBase64(event.data))}\n`);
      } else progress.showCall(event);
    },
  });
  const onInterrupt = () => {
    call.cancel();
    process.exitCode = EXIT.interrupted;
  };
  process.once('SIGINT', onInterrupt);
  try {
    const result = await call;
    progress.stop();
    const shown = options.outputFile === undefined ? result : writeOutputFile(result, options.outputFile);
    printJson(bytesAsBase64(shown), !options.json);
  } finally {
    progress.stop();
    process.off('SIGINT', onInterrupt);
  }
}

/** `--pull`: installs the index's recipe (its sha256 checked as for any index install). */
async function pull(client: PodkeeperClient, name: string, progress: ProgressView): Promise<void> {
  const recipe = await client.install(name, {
    onProgress: (event) => {
      if (event.event === 'install.progress') progress.show(event, event.step);
    },
  });
  progress.stop();
  process.stderr.write(`installed ${recipe.name} ${recipe.version} (${recipe.capability})\n`);
}
