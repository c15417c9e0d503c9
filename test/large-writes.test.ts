/**
 * Large writes (large-writes.ts): once the listener hears that one was written, its payload is
 * garbage, so the daemon's GC right then frees it before the answer to it is read into memory (the
 * 100 MB round trip of BENCHMARKS.md, "Payloads"). Over a real Unix socket.
 */
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { constants, type PerformanceEntry, PerformanceObserver, performance } from 'node:perf_hooks';
import { setImmediate as turn } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { startMemoryReclaim } from '../src/daemon/memory-reclaim.js';
import { LARGE_WRITE_BYTES, onLargeWrites } from '../src/transport/large-writes.js';
import { MessageWriter } from '../src/transport/message-writer.js';
import { tempDir } from './helpers.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const MIB = 1024 * 1024;
const PIECE = 64 * 1024;

const open: { server: Server; writer: Socket; reader: Socket }[] = [];
const stops: (() => void)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) stop();
  for (const { server, writer, reader } of open.splice(0)) {
    writer.destroy();
    reader.destroy();
    server.close();
    await once(server, 'close');
  }
});

async function socketPair(): Promise<{ writer: MessageWriter; reader: Socket }> {
  const path = join(tempDir('podkeeper-large-writes-'), 's');
  const server = createServer();
  server.listen(path);
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const socket = connect(path);
  const [reader] = await accepted;
  reader.on('data', () => {});
  open.push({ server, writer: socket, reader });
  const writer = new MessageWriter(socket, { name: 'test', peerReadsFrames: true, announceFrames: false });
  return { writer, reader };
}

const collectedTokens = new Set<number>();
const registry = new FinalizationRegistry<number>((token) => collectedTokens.add(token));
let nextToken = 0;

/**
 * Relays `size` bytes as the daemon relays a frame: the 64 KiB pieces of the chunks it came in,
 * keeping no reference to them. Returns whether every piece has been collected.
 */
function relayFrame(writer: MessageWriter, size: number): () => boolean {
  const tokens: number[] = [];
  let pieces: Uint8Array[] = [];
  for (let at = 0; at < size; at += PIECE) {
    const piece = new Uint8Array(PIECE).fill(7);
    const token = nextToken++;
    registry.register(piece.buffer, token);
    tokens.push(token);
    pieces.push(piece);
  }
  writer.sendFramed(`{"id":${tokens[0]},"payload":{"$frame":0},"$frames":[${size}]}`, [pieces]);
  pieces = [];
  return () => tokens.every((token) => collectedTokens.has(token));
}

/** Resolves once the listener hears of its `nth` large write, with whether one GC then freed the payload. */
function collectWhenWritten(nth: number, collected: () => boolean): Promise<boolean> {
  let heard = 0;
  return new Promise((resolve) => {
    stops.push(
      onLargeWrites(() => {
        heard += 1;
        if (heard !== nth) return;
        setImmediate(async () => {
          gc(); // one GC, as the daemon's (memory-reclaim.ts); finalizers run a few turns later
          for (let i = 0; i < 20 && !collected(); i++) await turn();
          resolve(collected());
        });
      }),
    );
  });
}

describe('large writes', () => {
  it('are garbage once the listener hears of them: one GC frees them', async () => {
    const { writer } = await socketPair();
    let collected = (): boolean => false;
    const freed = collectWhenWritten(1, () => collected());
    collected = relayFrame(writer, 8 * MIB);
    expect(await freed).toBe(true);
  });

  it('so are those that waited for the stream to drain', async () => {
    const { writer, reader } = await socketPair();
    reader.pause(); // the first message fills the socket: the second waits in the writer's queue
    let collected = (): boolean => false;
    const freed = collectWhenWritten(2, () => collected());
    void writer.send({ id: 'first', payload: new Uint8Array(8 * MIB) });
    while (!writer.blocked) await turn();
    collected = relayFrame(writer, 8 * MIB);
    reader.resume();
    expect(await freed).toBe(true);
  });

  it('are told once written, not before, and small ones never', async () => {
    const { writer, reader } = await socketPair();
    const heard: number[] = [];
    stops.push(onLargeWrites((bytes) => heard.push(bytes)));
    reader.pause(); // the socket fills: the big message is not written until the reader reads
    void writer.send({ id: 1, payload: new Uint8Array(LARGE_WRITE_BYTES / 2) });
    void writer.send({ id: 2, payload: new Uint8Array(8 * MIB) });
    while (!writer.blocked) await turn();
    expect(heard).toEqual([]);
    reader.resume();
    while (heard.length === 0) await turn();
    expect(heard).toHaveLength(1);
    expect(heard[0]).toBeGreaterThanOrEqual(8 * MIB);
    expect(heard[0]).toBeLessThan(8 * MIB + 200); // the frame and its announcing line
  });

  it("make the daemon's reclaim run a major GC once written", async () => {
    const { writer } = await socketPair();
    const majors: number[] = [];
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        const { detail } = entry as PerformanceEntry & { detail?: { kind?: number } };
        if (detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors.push(entry.startTime);
      }
    });
    observer.observe({ entryTypes: ['gc'] });
    stops.push(() => observer.disconnect());
    stops.push(startMemoryReclaim({ everyMs: 3_600_000, collectAfterBytes: 4 * MIB }));
    const before = performance.now();
    void writer.send({ id: 1, payload: new Uint8Array(8 * MIB) });
    const deadline = Date.now() + 10_000;
    while (!majors.some((at) => at >= before)) {
      if (Date.now() > deadline) throw new Error('no major GC within 10 s of the large write');
      await turn();
    }
  });
});
