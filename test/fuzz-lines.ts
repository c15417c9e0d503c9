/**
 * Generated input for both line parsers: the daemon's control socket (every action, random and
 * plausible payloads) and the Python runner's stdin. Each line is valid, broken after its id, or
 * garbage with no id; the drivers send batches cut at random points over several connections and
 * check that every id gets exactly one final answer and that nothing crashes.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import fc from 'fast-check';
import split2 from 'split2';
import { describe, expect, it } from 'vitest';
import { CONTROL_ACTIONS, STREAM_ACTIONS } from '../src/protocol/control.js';
import { rawConnect, startDaemon } from './daemon-helpers.js';
import { onCleanup, RUN_MARKER } from './helpers.js';

export interface FuzzLine {
  /** The id written first on the line; undefined for garbage. */
  id: string | number | undefined;
  action: string;
  bytes: Buffer;
}

const json = fc.jsonValue({ maxDepth: 4 });
const ACTIONS = CONTROL_ACTIONS.filter((action) => action !== 'shutdown');

/** Payloads a handler accepts, often enough that the handlers themselves run. */
function plausible(action: string): fc.Arbitrary<unknown> {
  switch (action) {
    case 'call':
      return fc.record(
        {
          target: fc.constantFrom('echo', 'no-such-recipe'),
          input: fc.jsonValue({ maxDepth: 6 }),
          action: fc.constantFrom('process', 'reverse', 'nope'),
          timeout: fc.constantFrom(5, 0, -1, 'x'),
        },
        { requiredKeys: ['target', 'input'] },
      );
    case 'pods.start':
    case 'pods.stop':
    case 'logs.tail':
    case 'logs.follow':
    case 'events.subscribe':
      return fc.record(
        { target: fc.constantFrom('echo', 'nope'), lines: fc.integer({ min: -1, max: 50 }) },
        { requiredKeys: [] },
      );
    case 'recipes.install':
      return fc.record({ source: fc.constant('/nonexistent/podkeeper-fuzz.tar.gz'), sha256: fc.string() });
    case 'cancel':
      return fc.record({ id: fc.oneof(fc.string(), fc.nat()) });
    default:
      return json;
  }
}

const anyAction = fc.constantFrom(...ACTIONS).chain((action) =>
  fc.record({
    action: fc.constant(action),
    payload: action === 'recipes.install' ? plausible(action) : fc.oneof(plausible(action), json),
  }),
);
/** A call the echo pod answers: what reaches the Python runner's parser. */
const echoCall = fc.record({
  action: fc.constant('call'),
  payload: fc.record({ target: fc.constant('echo'), input: fc.jsonValue({ maxDepth: 6 }) }),
});
const request = fc.oneof({ weight: 2, arbitrary: echoCall }, { weight: 3, arbitrary: anyAction });

/** Bytes without a newline (a newline would make two lines of one). */
const noNewline = fc
  .uint8Array({ minLength: 1, maxLength: 40 })
  .map((bytes) => bytes.map((b) => (b === 10 ? 32 : b)));

const deep = fc.integer({ min: 1, max: 120_000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`);

/** Values that must arrive exactly or be refused with a code. */
const special = fc.constantFrom(
  '1e400',
  '-1e999',
  '18446744073709551617',
  '9007199254740993',
  '{"a":1,"a":2}',
  '{"__proto__":{"x":1}}',
  '"\\ud800"',
  '"a\u0000b"',
  '[1,]',
  '{"a"}',
  '0.1e-400',
  '18446744073709551616',
  `"${'é'.repeat(50)}"`,
);

/** Ways to break (or bend) the rest of a line after its id. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: noNewline }),
  fc.record({
    kind: fc.constant('byte' as const),
    at: fc.nat(),
    byte: fc.constantFrom(0x00, 0xc3, 0xff, 0x80, 0x22),
  }),
  fc.record({ kind: fc.constant('payload' as const), text: fc.oneof(deep, special) }),
  fc.record({ kind: fc.constant('input' as const), text: fc.oneof(deep, special) }),
  fc.record({ kind: fc.constant('crlf' as const) }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(rest: Buffer, action: string, m: Mutation): Buffer {
  switch (m.kind) {
    case 'truncate':
      return rest.subarray(0, m.at % rest.length);
    case 'insert': {
      const at = m.at % (rest.length + 1);
      return Buffer.concat([rest.subarray(0, at), Buffer.from(m.bytes), rest.subarray(at)]);
    }
    case 'byte': {
      const copy = Buffer.from(rest);
      if (copy.length > 0) copy[m.at % copy.length] = m.byte;
      return copy;
    }
    case 'payload':
      return Buffer.from(`"action":${JSON.stringify(action)},"payload":${m.text}}`);
    case 'input':
      return Buffer.from(`"action":"call","payload":{"target":"echo","input":${m.text}}}`);
    case 'crlf':
      return Buffer.concat([rest, Buffer.from('\r')]);
  }
}

function lineArbitrary(nextId: () => string | number): fc.Arbitrary<FuzzLine> {
  const valid = request.map(({ action, payload }) => {
    const id = nextId();
    return { id, action, bytes: Buffer.from(JSON.stringify({ id, action, payload })) };
  });
  const broken = fc.tuple(request, mutation).map(([{ action, payload }, m]) => {
    const id = nextId();
    const head = Buffer.from(`{"id":${JSON.stringify(id)},`);
    const rest = Buffer.from(JSON.stringify({ action, payload }).slice(1));
    return { id, action, bytes: Buffer.concat([head, mutate(rest, action, m)]) };
  });
  // Garbage: any bytes but '\n', and more than a lone '\r' (an empty line is no request).
  const garbage = noNewline
    .filter((bytes) => bytes.some((b) => b !== 13) && bytes[0] !== 0x7b)
    .map((bytes) => ({ id: undefined, action: '', bytes: Buffer.from(bytes) }));
  return fc.oneof(
    { weight: 3, arbitrary: valid },
    { weight: 4, arbitrary: broken },
    { weight: 1, arbitrary: garbage },
  );
}

export interface Batch {
  lines: FuzzLine[];
  /** Cut points (fractions of the batch's length) where a write ends. */
  cuts: number[];
}

/** `count` lines in batches of about `size`, reproducible from `seed`. */
export function generateBatches(count: number, size: number, seed: number, ids = 'c'): Batch[] {
  let n = 0;
  const nextId = () => (++n % 3 === 0 ? n : `${ids}${n}`);
  const batch = fc.record({
    lines: fc.array(lineArbitrary(nextId), { minLength: size, maxLength: size }),
    cuts: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }),
  });
  return fc.sample(batch, { numRuns: Math.ceil(count / size), seed });
}

/** Writes a batch as one byte stream, cut where the batch says. */
function writeCut(write: (chunk: Buffer) => void, batch: Batch): void {
  const whole = Buffer.concat(batch.lines.flatMap((line) => [line.bytes, Buffer.from('\n')]));
  const points = [...new Set(batch.cuts.map((cut) => Math.floor(cut * whole.length)))].sort((a, b) => a - b);
  let from = 0;
  for (const point of [...points, whole.length]) {
    if (point > from) write(whole.subarray(from, point));
    from = Math.max(from, point);
  }
}

export interface Tally {
  sent: number;
  problems: string[];
}

/** Waits (polling) until `done()` or the deadline. */
async function until(done: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
}

/** Counts final answers per id: each expected id exactly once, nothing else, `nulls` null ids. */
function check(answers: Record<string, unknown>[], expected: Map<string, string>, nulls: number): string[] {
  const problems: string[] = [];
  const counts = new Map<string, number>();
  let seenNulls = 0;
  for (const answer of answers) {
    if (answer['id'] === null) seenNulls += 1;
    else {
      const id = JSON.stringify(answer['id']);
      if (!expected.has(id))
        problems.push(`an answer for an id never sent: ${JSON.stringify(answer).slice(0, 300)}`);
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
  }
  for (const [id, line] of expected) {
    const count = counts.get(id) ?? 0;
    if (count !== 1) problems.push(`id ${id} answered ${count} times; its line: ${line.slice(0, 300)}`);
  }
  if (seenNulls !== nulls)
    problems.push(`${seenNulls} answers with id null for ${nulls} lines without an id`);
  return problems;
}

/**
 * Sends batches on one control connection, each once the previous one is answered; returns what
 * broke the rules: an id answered not exactly once, an answer for an id never sent, a count of
 * null-id answers unlike the count of lines without an id.
 */
export async function fuzzConnection(socket: string, batches: Batch[], waitMs = 120_000): Promise<Tally> {
  const client = await rawConnect(socket);
  const expected = new Map<string, string>();
  let garbage = 0;
  const finals = () => client.received.filter((line) => 'success' in line);
  for (const batch of batches) {
    for (const line of batch.lines) {
      if (line.id === undefined) garbage += 1;
      else expected.set(JSON.stringify(line.id), line.bytes.toString('latin1'));
    }
    writeCut((chunk) => client.socket.write(chunk), batch);
    // Streams last until cancelled: cancel every id whose line asked for one.
    for (const line of batch.lines) {
      if (line.id === undefined || !STREAM_ACTIONS.has(line.action as never)) continue;
      const id = `cancel-${String(line.id)}`;
      expected.set(JSON.stringify(id), 'cancel');
      client.send({ id, action: 'cancel', payload: { id: line.id } });
    }
    await until(() => finals().length >= expected.size + garbage, waitMs);
  }
  client.close();
  return { sent: expected.size + garbage, problems: check(finals(), expected, garbage) };
}

const ECHO = join(import.meta.dirname, '..', 'recipes', 'echo');
const RUNNER_ACTIONS = ['process', 'reverse', 'ping', 'cancel', 'nope'];

/**
 * Sends batches straight to a Python runner (the echo recipe) on its stdin; every line must be
 * answered exactly once, with its id. (Lines without an id are left out: the daemon never writes
 * one, and the runner can only note it.)
 */
export async function fuzzRunner(batches: Batch[], waitMs = 120_000): Promise<Tally> {
  const child = spawn('python3', ['-u', '-c', 'from podkeeper_pod.__main__ import run; run()', ECHO], {
    cwd: ECHO,
    env: {
      ...process.env,
      PYTHONPATH: join(import.meta.dirname, '..', 'pods'),
      PODKEEPER_TEST_RUN: RUN_MARKER,
      PODKEEPER_POD_ID: 'fuzz',
    },
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  onCleanup(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  child.stdin.on('error', () => undefined);
  const answers: Record<string, unknown>[] = [];
  let ready = false;
  child.stdout.pipe(split2(JSON.parse)).on('data', (line: Record<string, unknown>) => {
    if (line['type'] === 'ready') ready = true;
    else if ('success' in line) answers.push(line);
  });
  await until(() => ready || child.exitCode !== null, 15_000);
  if (!ready) return { sent: 0, problems: ['the runner did not become ready'] };
  const expected = new Map<string, string>();
  for (const batch of batches) {
    const lines = batch.lines.flatMap((line) => (line.id === undefined ? [] : [runnerLine(line)]));
    for (const line of lines) expected.set(JSON.stringify(line.id), line.bytes.toString('latin1'));
    writeCut((chunk) => child.stdin.write(chunk), { ...batch, lines });
    await until(() => answers.length >= expected.size || child.exitCode !== null, waitMs);
  }
  const problems = check(answers, expected, 0);
  if (child.exitCode !== null) problems.push(`the runner exited with ${child.exitCode}`);
  child.kill('SIGKILL');
  return { sent: expected.size, problems };
}

/** The runner's ids are strings, and its actions its own: rewrite a control line for it. */
function runnerLine(line: FuzzLine): FuzzLine {
  if (line.id === undefined) return line;
  const id = `r${String(line.id)}`;
  const action = RUNNER_ACTIONS[line.bytes.length % RUNNER_ACTIONS.length] as string;
  const text = line.bytes.toString('latin1');
  const rest = line.bytes.subarray(line.bytes.indexOf(0x2c) + 1); // after `{"id":…,`
  const body = text.startsWith('{"id":') ? rest : Buffer.from(`"payload":null}`);
  const replaced = Buffer.from(
    body.toString('latin1').replace(/^"action":"[^"]*"/, `"action":"${action}"`),
    'latin1',
  );
  return { id, action, bytes: Buffer.concat([Buffer.from(`{"id":${JSON.stringify(id)},`), replaced]) };
}

/** How much a {@link fuzzSuite} sends. */
export interface FuzzVolume {
  /** Control connections fuzzed at once. */
  connections: number;
  /** Lines sent to the daemon (over all connections) and, again, to the runner. */
  lines: number;
  /** Lines per batch (one cut-up write sequence). */
  batch: number;
  /** The daemon's maxLineLength, bytes. */
  maxLineLength: number;
}

/**
 * The fuzz suite of both line parsers: the daemon answers every id exactly once over several
 * connections and keeps running; so does a Python runner. FUZZ_SEED reproduces a run.
 */
export function fuzzSuite({ connections, lines, batch, maxLineLength }: FuzzVolume): void {
  const seed = Number(process.env['FUZZ_SEED'] ?? Date.now() % 1_000_000);
  describe(`fuzzing the line parsers, ${lines} lines each (FUZZ_SEED=${seed})`, () => {
    it(`the daemon answers every id exactly once over ${connections} connections, and keeps running`, async () => {
      const daemon = await startDaemon({ config: { maxLineLength } });
      const perConnection = Math.ceil(lines / connections);
      const runs = Array.from({ length: connections }, (_, index) =>
        fuzzConnection(daemon.socket, generateBatches(perConnection, batch, seed + index, `k${index}-`)),
      );
      const tallies = await Promise.all(runs);
      expect(tallies.flatMap((tally) => tally.problems)).toEqual([]);
      expect(tallies.reduce((sum, tally) => sum + tally.sent, 0)).toBeGreaterThanOrEqual(lines);
      expect(daemon.child.exitCode).toBeNull();
    }, 600_000);

    it('the Python runner answers every id exactly once and keeps running', async () => {
      const tally = await fuzzRunner(generateBatches(lines, batch, seed));
      expect(tally.problems).toEqual([]);
      // lines without an id are left out (see fuzzRunner): about one in ten
      expect(tally.sent).toBeGreaterThanOrEqual(lines * 0.75);
    }, 600_000);
  });
}
