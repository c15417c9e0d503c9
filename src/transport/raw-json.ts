/**
 * Big values relayed as the bytes of their JSON, never parsed by the daemon.
 *
 * A 16 MiB call used to be parsed on its way in (UTF-8 decode, JSON.parse, the exactness scan) and
 * its input stringified again on its way to the pod; its answer the same in reverse. That is ~1 s of
 * one event-loop turn per big line, during which no other client is served, and ~100 MB of heap for
 * a 16 MiB value of small objects. A relay needs none of it: it finds where the value's bytes are
 * (shallow-scan.ts, done piece by piece as the line arrives), parses the small envelope around them,
 * and splices the same bytes into the line it writes (frames.ts). The peer that finally reads the
 * value (the runner, the client library) parses it, with the rules it always had.
 *
 *   client line {"id":…,"payload":{"target":…,"input":<bytes>}} ─▶ RawJson(<bytes>) ─▶ pod line
 *   pod line {"id":…,"success":true,"result":<bytes>}           ─▶ RawJson(<bytes>) ─▶ client line
 *
 * Code that wants the value itself turns a RawJson into it with `materialize` (frames.ts).
 */

/** Lines shorter than this are parsed whole: for a small line the scan costs more than it saves. */
export const RAW_MIN_BYTES = 64 * 1024;

export class RawJson {
  /** The value's JSON text, valid UTF-8, as it came (never re-encoded). */
  readonly text: Buffer;
  /**
   * The frames of the message it came in (frames.ts), when that message had any, each as the pieces
   * of the chunks it arrived in: the text's `{"$bytes": i}` name them by their index in this list.
   */
  frames: Buffer[][];

  constructor(text: Buffer, frames: Buffer[][] = []) {
    this.text = text;
    this.frames = frames;
  }

  /** What JSON.stringify shows of it by accident (a log, an error's preview): its size, not its bytes. */
  toJSON(): string {
    return `[${this.text.length} bytes of JSON]`;
  }
}
