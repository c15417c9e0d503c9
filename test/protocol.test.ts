/** The TypeScript half of the protocol contract; pods/tests/test_protocol.py checks the same fixtures. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePodMessage, podRequestSchema } from '../src/index.js';
import { foreignProtocol } from '../src/protocol/pod.js';

interface Case {
  name: string;
  kind?: string;
  message: unknown;
}
const fixtures = JSON.parse(
  readFileSync(join(import.meta.dirname, 'fixtures/protocol/pod-wire-v1.json'), 'utf8'),
) as {
  daemonToPod: { valid: Case[]; invalid: Case[] };
  podToDaemon: { valid: Case[]; invalid: Case[] };
};

describe('pod wire protocol v1 fixtures', () => {
  it.each(fixtures.daemonToPod.valid)('accepts request: $name', ({ message }) => {
    expect(podRequestSchema.safeParse(message).success).toBe(true);
  });
  it.each(fixtures.daemonToPod.invalid)('rejects request: $name', ({ message }) => {
    expect(podRequestSchema.safeParse(message).success).toBe(false);
  });
  it.each(fixtures.podToDaemon.valid)('accepts pod message: $name', ({ message, kind }) => {
    const parsed = parsePodMessage(message);
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect('type' in parsed.value ? parsed.value.type : 'result').toBe(kind);
  });
  it.each(fixtures.podToDaemon.invalid)('rejects pod message: $name', ({ message }) => {
    const parsed = parsePodMessage(message);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toMatch(/\S/);
  });
  it('defaults the action to process', () => {
    expect(podRequestSchema.parse({ id: 'x' })).toEqual({ id: 'x', action: 'process' });
  });
});

describe('the version handshake (foreignProtocol)', () => {
  const ready = fixtures.podToDaemon.valid.find((c) => c.kind === 'ready')?.message as Record<
    string,
    unknown
  >;

  it('passes our own ready and every other message', () => {
    expect(ready).toMatchObject({ type: 'ready', protocol: 2 });
    expect(foreignProtocol(ready)).toBeUndefined();
    for (const { message } of fixtures.podToDaemon.valid) expect(foreignProtocol(message)).toBeUndefined();
    expect(foreignProtocol({ type: 'log', protocol: 3 })).toBeUndefined();
    expect(foreignProtocol('ready')).toBeUndefined();
  });

  it('names the version of a ready from another one, whatever its other fields', () => {
    expect(foreignProtocol({ ...ready, protocol: 1 })).toBe(1);
    expect(foreignProtocol({ type: 'ready', protocol: 3 })).toBe(3);
    expect(foreignProtocol({ type: 'ready', protocol: '2' })).toBe('2');
    expect(foreignProtocol({ type: 'ready', capability: 'x' })).toBeNull();
  });
});
