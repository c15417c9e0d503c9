/**
 * The hand-checked fast path for `call` requests (request-check.ts validCall) against the zod
 * schemas it stands in for: on every request built here it accepts exactly what both schemas accept,
 * and hands the handler the payload zod would (same keys, same values). Whatever it leaves to zod,
 * checkRequest answers as before.
 */
import { describe, expect, it } from 'vitest';
import { checkRequest, validCall } from '../../src/control/request-check.js';
import { PodkeeperError } from '../../src/errors.js';
import { controlPayloadSchemas, controlRequestSchema } from '../../src/protocol/control.js';

const ABSENT = Symbol('absent');
type Variant = unknown;

const text = (length: number) => 'x'.repeat(length);
const ids: Variant[] = [
  'b1',
  '',
  text(256),
  text(257),
  0,
  7,
  -1,
  1.5,
  2 ** 53 - 1,
  2 ** 53,
  null,
  ABSENT,
  {},
];
const actions: Variant[] = ['call', 'status', 'Call', '', 7, ABSENT];
const targets: Variant[] = ['echo', '', text(256), text(257), 3, null, ABSENT];
const callActions: Variant[] = ['process', '', text(128), text(129), false, null, ABSENT];
const inputs: Variant[] = [{ text: 'hi' }, null, [1, 2], 'text', 0, ABSENT];
const timeouts: Variant[] = [1, 0.001, 0, -1, 7 * 24 * 3600, 7 * 24 * 3600 + 1, '5', null, ABSENT];
const keepAlives: Variant[] = [-1, -1.5, 0, 300, '0', null, ABSENT];

/** `fields` without those marked ABSENT. */
function build(fields: Record<string, Variant>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== ABSENT));
}

/** What decodeLine would hand over: a value as it comes out of JSON.parse. */
const asParsed = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

function payloads(): unknown[] {
  const base = { target: 'echo', action: 'process', input: { text: 'hi' }, timeout: 5, keepAlive: 0 };
  const out: unknown[] = [base, {}, null, [], 'echo', 7];
  const fields: [string, Variant[]][] = [
    ['target', targets],
    ['action', callActions],
    ['input', inputs],
    ['timeout', timeouts],
    ['keepAlive', keepAlives],
  ];
  for (const [field, values] of fields) {
    for (const value of values) out.push(build({ ...base, [field]: value }));
  }
  for (const target of targets) for (const timeout of timeouts) out.push(build({ target, timeout }));
  out.push({ ...base, extra: 1 }, { target: 'echo', signal: 'x' });
  out.push(
    JSON.parse('{"target":"echo","__proto__":{"x":1}}'),
    JSON.parse('{"__proto__":null,"target":"echo"}'),
  );
  return out;
}

function requests(): unknown[] {
  const out: unknown[] = [null, [], 'call', 7];
  for (const payload of payloads()) out.push({ id: 'b1', action: 'call', payload });
  for (const id of ids)
    for (const action of actions) out.push(build({ id, action, payload: { target: 'echo' } }));
  out.push(
    { id: 'b1', action: 'call' },
    { id: 'b1', action: 'call', payload: { target: 'echo' }, extra: true },
  );
  out.push(JSON.parse('{"id":"b1","action":"call","payload":{"target":"echo"},"__proto__":{}}'));
  return out.map(asParsed);
}

/** What the zod schemas say of `raw` as a call: its id and parsed payload, or undefined. */
function zodCall(raw: unknown): { id: unknown; payload: unknown } | undefined {
  const envelope = controlRequestSchema.safeParse(raw);
  if (!envelope.success || envelope.data.action !== 'call') return undefined;
  const payload = controlPayloadSchemas.call.safeParse(envelope.data.payload ?? {});
  return payload.success ? { id: envelope.data.id, payload: payload.data } : undefined;
}

describe('validCall: the fast path for call requests', () => {
  const all = requests();

  it('is exercised on both sides: many requests accepted, many refused', () => {
    const accepted = all.filter((raw) => zodCall(raw) !== undefined).length;
    expect(accepted).toBeGreaterThan(20);
    expect(all.length - accepted).toBeGreaterThan(50);
  });

  it.each(all.map((raw) => [JSON.stringify(raw), raw]))('agrees with zod on %s', (_, raw) => {
    const expected = zodCall(raw);
    const fast = validCall(raw);
    expect(fast === undefined ? undefined : { id: fast.id, payload: { ...fast.payload } }).toEqual(expected);
  });

  it('answers what the zod path answers: in flight, refusing, accepted', () => {
    const raw = asParsed({ id: 'b1', action: 'call', payload: { target: 'echo', input: { a: 1 } } });
    const idle = { inFlight: () => false, refusing: undefined };
    expect(checkRequest(raw, idle)).toEqual({
      ok: true,
      id: 'b1',
      action: 'call',
      payload: { target: 'echo', input: { a: 1 } },
    });
    const busy = checkRequest(raw, { inFlight: (id) => id === 'b1', refusing: undefined });
    expect(busy).toMatchObject({
      ok: false,
      answer: { id: 'b1', success: false, error: { code: 'BAD_REQUEST' } },
    });
    expect(JSON.stringify(busy)).toContain('already in flight');
    const stopping = new PodkeeperError('SHUTTING_DOWN', 'The daemon is stopping.');
    expect(checkRequest(raw, { inFlight: () => false, refusing: stopping })).toEqual({
      ok: false,
      answer: { id: 'b1', success: false, error: stopping.toJSON() },
    });
  });
});
