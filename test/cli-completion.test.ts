/**
 * `podkeeper completion bash|zsh|fish`. bash and fish are driven for real: the script is sourced in
 * the shell and its completion run on a command line (bash: COMP_WORDS + the function; fish:
 * `complete -C`), with `podkeeper` on PATH as a user would have it. zsh cannot complete without a
 * terminal: its script is syntax-checked by `zsh -n` and its content checked.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, childEnv, runCli, startDaemon } from './daemon-helpers.js';
import { tempDir } from './helpers.js';

const has = (command: string) => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;

/** A folder holding a `podkeeper` that runs this checkout's CLI, for PATH. */
function userPath(): string {
  const bin = join(tempDir('pk-bin-'), 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'podkeeper'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
  chmodSync(join(bin, 'podkeeper'), 0o755);
  return `${bin}:${process.env['PATH'] ?? ''}`;
}

async function script(shell: string): Promise<string> {
  const result = await runCli(['completion', shell]);
  expect(result.code, result.stderr).toBe(0);
  const file = join(tempDir('pk-completion-'), `podkeeper.${shell}`);
  writeFileSync(file, result.stdout);
  return file;
}

describe('bash completion', () => {
  it('completes commands, flags, sub-commands and recipe names', async () => {
    const file = await script('bash');
    const env = childEnv({ PATH: userPath(), PODKEEPER_HOME: tempDir('pk-home-') });
    const complete = (...words: string[]): string[] => {
      const driver = [
        `source ${JSON.stringify(file)}`,
        'complete -p podkeeper',
        'COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMPREPLY=()',
        '_podkeeper',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a bash expansion, not a template
        'printf "%s\\n" "${COMPREPLY[@]}"',
      ].join('\n');
      const run = spawnSync('bash', ['-c', driver, 'bash', ...words], { env, encoding: 'utf8' });
      expect(run.status, run.stderr).toBe(0);
      const [registered = '', ...candidates] = run.stdout.split('\n');
      expect(registered).toBe('complete -F _podkeeper podkeeper');
      return candidates.filter(Boolean);
    };
    expect(complete('podkeeper', 'ca')).toEqual(['call']);
    expect(complete('podkeeper', 'do')).toEqual(['doctor']);
    expect(complete('podkeeper', 'call', '--js')).toEqual(['--json']);
    expect(complete('podkeeper', 'daemon', '--det')).toEqual(['--detach']);
    expect(complete('podkeeper', 'service', '')).toEqual(['install', 'uninstall', 'status']);
    expect(complete('podkeeper', 'completion', '')).toEqual(['bash', 'zsh', 'fish']);
    // Recipe names, with no daemon running: the fixture path, the built-in ones.
    const recipes = complete('podkeeper', 'call', '');
    expect(recipes).toEqual(expect.arrayContaining(['echo', 'sentiment', 'hang', 'stream']));
    expect(complete('podkeeper', 'logs', 'sen')).toEqual(['sentiment']);
    expect(complete('podkeeper', 'stop', '--home', '/tmp', 'ec')).toEqual(['echo']);
    // Past the recipe, and after a flag that takes a value, nothing is guessed.
    expect(complete('podkeeper', 'call', 'echo', '')).toEqual([]);
    expect(complete('podkeeper', 'call', '-a', '')).toEqual([]);
  });

  it('never runs a command hidden in a recipe name, and offers only valid names', async () => {
    const file = await script('bash');
    const root = tempDir('pk-evil-');
    const pwned = join(root, 'PWNED');
    const plant = (folder: string, name: string) => {
      mkdirSync(join(root, 'rp', folder), { recursive: true });
      writeFileSync(
        join(root, 'rp', folder, 'recipe.json'),
        JSON.stringify({ name, capability: 'x', entry: 'pod.py' }),
      );
    };
    plant('dollar', `$(touch\${IFS}${pwned})`);
    plant('backquote', `\`touch\${IFS}${pwned}\``);
    plant('fine', 'fine');
    const env = childEnv({
      PATH: userPath(),
      PODKEEPER_HOME: join(root, 'h'),
      PODKEEPER_RECIPE_PATH: join(root, 'rp'),
    });
    const driver = `source ${JSON.stringify(file)}; COMP_WORDS=(podkeeper call ""); COMP_CWORD=2; _podkeeper; printf "%s\\n" "\${COMPREPLY[@]}"`;
    const run = spawnSync('bash', ['-c', driver], { env, encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(existsSync(pwned)).toBe(false);
    const offered = run.stdout.split('\n').filter(Boolean);
    expect(offered).toContain('fine');
    expect(offered.filter((name) => name.includes('touch'))).toEqual([]);
  });

  it("reads a home's recipes only from a home the daemon would trust", async () => {
    const home = tempDir('pk-home-');
    mkdirSync(join(home, 'recipes', 'mine'), { recursive: true });
    writeFileSync(
      join(home, 'recipes', 'mine', 'recipe.json'),
      JSON.stringify({ name: 'mine', capability: 'x', entry: 'pod.py' }),
    );
    const names = async () =>
      (await runCli(['completion', '--recipes'], { env: { PODKEEPER_HOME: home } })).stdout.split('\n');
    expect(await names()).toContain('mine');
    chmodSync(home, 0o777);
    expect(await names()).not.toContain('mine');
    chmodSync(home, 0o700);
  });

  it('asks a running daemon for the recipe names', async () => {
    const daemon = await startDaemon();
    const result = await runCli(['completion', '--recipes'], { env: { PODKEEPER_HOME: daemon.home } });
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')).toEqual(expect.arrayContaining(['echo', 'hang']));
  });

  it('an unknown shell is BAD_REQUEST, exit 2', async () => {
    const result = await runCli(['completion', 'tcsh']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^BAD_REQUEST: Which shell\? .*not "tcsh"/);
  });
});

describe('fish completion', () => {
  it.skipIf(!has('fish'))('is valid fish, and `complete -C` offers commands, flags and recipes', async () => {
    const file = await script('fish');
    expect(spawnSync('fish', ['-n', file]).status).toBe(0);
    const env = childEnv({ PATH: userPath(), PODKEEPER_HOME: tempDir('pk-home-') });
    const complete = (line: string): string[] => {
      const run = spawnSync('fish', ['-c', `source ${file}; complete -C ${JSON.stringify(line)}`], {
        env,
        encoding: 'utf8',
      });
      expect(run.status, run.stderr).toBe(0);
      return run.stdout
        .split('\n')
        .filter(Boolean)
        .map((candidate) => candidate.split('\t')[0] ?? '');
    };
    expect(complete('podkeeper ca')).toEqual(['call']);
    expect(complete('podkeeper call --js')).toEqual(['--json']);
    expect(complete('podkeeper call ')).toEqual(expect.arrayContaining(['echo', 'sentiment', 'hang']));
    expect(complete('podkeeper service ')).toEqual(
      expect.arrayContaining(['install', 'uninstall', 'status']),
    );
  });
});

describe('zsh completion', () => {
  it.skipIf(!has('zsh'))(
    'is valid zsh (zsh -n) and covers every command, its flags and the recipes',
    async () => {
      const file = await script('zsh');
      const checked = spawnSync('zsh', ['-n', file], { encoding: 'utf8' });
      expect(checked.status, checked.stderr).toBe(0);
      // Loading it in a zsh with compinit registers the function for podkeeper.
      const loaded = spawnSync(
        'zsh',
        [
          '-f',
          '-c',
          `autoload -Uz compinit && compinit -u -D && source ${file} && print -r -- $_comps[podkeeper]`,
        ],
        { encoding: 'utf8', env: childEnv({ HOME: tempDir('pk-zsh-home-') }) },
      );
      expect(loaded.stdout.trim(), loaded.stderr).toBe('_podkeeper');
      const text = spawnSync('cat', [file], { encoding: 'utf8' }).stdout;
      for (const command of ['call', 'doctor', 'service', 'completion'])
        expect(text).toContain(`    ${command})`);
      expect(text).toContain("'1:recipe:_podkeeper_recipes'");
      expect(text).toContain("'1:service:(install uninstall status)'");
      expect(text).toContain("'--json[machine-readable output]'");
    },
  );
});
