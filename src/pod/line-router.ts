/**
 * Where each line a pod writes on stdout goes:
 *
 *   stdout line ─▶ parsePodMessage ─▶ result ─────────────▶ RequestTable.answer (by id)
 *        │                │           progress / chunk ──▶ RequestTable.event (by id)
 *        │                │           ready / log ───────▶ the pod (onReady / onLog)
 *        │                │           invalid ───────────▶ RequestTable.unreadableRequest (oldest)
 *        │                └─ not the protocol ──┐
 *        └─ not JSON, too long, inexact ────────┴──────▶ its request fails now, when the line names one
 *
 * Nothing a pod writes is dropped without a note in its log.
 */
import type { InvalidMessage, LogMessage, PodMessage, ReadyMessage } from '../protocol/pod.js';
import { parsePodMessage } from '../protocol/pod.js';
import type { InvalidLine } from '../transport/json-lines.js';
import * as failures from './failures.js';
import type { RequestTable } from './requests.js';

export interface LineRoutes {
  podId: string;
  maxLineLength: number;
  requests: RequestTable;
  onReady(ready: ReadyMessage): void;
  onLog(log: LogMessage): void;
  /** A warning for the pod's log, from the daemon. */
  warn(message: string): void;
}

export class LineRouter {
  readonly #routes: LineRoutes;

  constructor(routes: LineRoutes) {
    this.#routes = routes;
  }

  /** A decoded stdout line. */
  line(value: unknown): void {
    const parsed = parsePodMessage(value);
    if (parsed.ok) {
      this.#message(parsed.value);
      return;
    }
    this.#routes.warn(`dropped an invalid message (${parsed.error})`);
    const { id, type } = (typeof value === 'object' && value !== null ? value : {}) as Record<
      string,
      unknown
    >;
    if (typeof id !== 'string') return;
    const detail = `the message does not follow the pod protocol (${parsed.error}).`;
    const bad = { reason: 'schema', length: JSON.stringify(value).length, detail };
    this.#failUnreadable(id, type === undefined, bad);
  }

  /** A line from stdout that could not be read: its request (when the line names one) fails now. */
  invalid(bad: InvalidLine): void {
    this.#routes.warn(`dropped a ${bad.reason} line (${bad.length} bytes) from stdout: ${bad.preview}`);
    if (typeof bad.id === 'string') this.#failUnreadable(bad.id, bad.type === undefined, bad);
  }

  #failUnreadable(id: string, final: boolean, bad: { reason: string; length: number; detail: string }): void {
    const { podId, maxLineLength, requests } = this.#routes;
    requests.unreadable(id, final, failures.unreadableAnswer(podId, id, bad, maxLineLength));
  }

  #message(message: PodMessage): void {
    const { requests } = this.#routes;
    if (!('type' in message)) {
      if (!requests.answer(message)) this.#routes.warn(`answer for unknown request ${message.id}`);
      return;
    }
    switch (message.type) {
      case 'ready':
        this.#routes.onReady(message);
        return;
      case 'log':
        this.#routes.onLog(message);
        return;
      case 'invalid':
        this.#unreadableRequest(message);
        return;
      default:
        requests.event(message);
    }
  }

  #unreadableRequest({ error }: InvalidMessage): void {
    const { podId, requests } = this.#routes;
    const failed = requests.unreadableRequest((id) => failures.unreadableRequest(podId, id, error));
    const which = failed === undefined ? 'no request was waiting' : `failed request ${failed} for it`;
    this.#routes.warn(`the pod could not read a request line (${error.code}: ${error.message}); ${which}`);
  }
}
