/**
 * The unwritten output of every control client together, bounded. Each connection bounds its own
 * (`maxClientBufferMB`); this bounds their sum (`maxClientBufferTotalMB`), so many slow clients
 * cannot each fill their own allowance:
 *
 *   a connection's output grows while blocked ─▶ check() ─ sum over clients > maxBytes?
 *                                                          └▶ drop the client holding the most, until under
 */

/** What the budget needs of a connection. */
export interface BufferedClient {
  readonly name: string;
  /** Bytes queued for the client and not yet taken by its socket. */
  readonly bufferedBytes: number;
  /** Drops the client as too slow (it logs why). */
  dropAsSlow(bound: { bytes: number; scope: 'client' | 'all clients' }): void;
}

export class OutboundBudget {
  readonly maxBytes: number;
  readonly #clients = new Set<BufferedClient>();

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /** Counts `client` from now on; returns the disposer (call it once the client is gone). */
  join(client: BufferedClient): () => void {
    this.#clients.add(client);
    return () => this.#clients.delete(client);
  }

  /** Unwritten bytes of all clients. */
  get bufferedBytes(): number {
    let total = 0;
    for (const client of this.#clients) total += client.bufferedBytes;
    return total;
  }

  /** After a client's output grew: past the bound, drops the clients holding the most until under it. */
  check(): void {
    let total = this.bufferedBytes;
    while (total > this.maxBytes) {
      let biggest: BufferedClient | undefined;
      for (const client of this.#clients)
        if (biggest === undefined || client.bufferedBytes > biggest.bufferedBytes) biggest = client;
      if (biggest === undefined || biggest.bufferedBytes === 0) return;
      total -= biggest.bufferedBytes;
      this.#clients.delete(biggest);
      biggest.dropAsSlow({ bytes: this.maxBytes, scope: 'all clients' });
    }
  }
}
