// The pytest part of `npm test`. With PODKEEPER_COVERAGE=1 (as CI sets it) it runs under coverage.py
// and prints the summary, so CI's coverage figure comes from the same run as the README's test command.
import { spawnSync } from 'node:child_process';

const suites = ['pods/tests', 'recipes/python-exec/tests', 'clients/python/tests'];
const sources = 'pods/podkeeper_pod,recipes/python-exec/podkeeper_exec,clients/python/src';
const coverage = process.env.PODKEEPER_COVERAGE === '1';

const run = (args) => spawnSync('python3', args, { stdio: 'inherit' }).status ?? 1;

const pytest = ['-m', 'pytest', '-q', ...suites];
let status = coverage
  ? run(['-m', 'coverage', 'run', '--branch', `--source=${sources}`, ...pytest])
  : run(pytest);
if (coverage && status === 0) status = run(['-m', 'coverage', 'report']);
process.exit(status);
