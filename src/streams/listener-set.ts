/**
 * asyncio's `start_server` listens on every address its host gives — `None` is `0.0.0.0` and
 * `::` (two sockets, the IPv6 one IPV6_V6ONLY), a name every address getaddrinfo returns — and
 * `server.sockets` lists each. A `ListenerSet` is those listeners seen as one by `Server`:
 *
 *   net.Server / RawListener ─┐
 *   net.Server / RawListener ─┼─ 'connection', 'error' ──► ListenerSet ──► Server
 *                             └─ 'close' of the last one ─► 'close'
 *
 * `bindEach` binds the addresses one after another. With port 0, asyncio lets each socket pick
 * its own port; weft gives the others the port the first one got (one port to connect to,
 * whatever address a client resolves), trying afresh when that port is taken on another
 * address.
 */
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { OSError } from '../socket/errors.js';
import { RawListener } from './raw-transport.js';
import type { Listener } from './worker-group.js';

/** Fresh tries of port 0 when the port the first address got is taken on another one. The race
 * needs another program binding that very port meanwhile: a few tries end it. */
export const PORT_ZERO_TRIES = 8;

/** Several listeners as one: connections and errors of each, closed once all are. */
export class ListenerSet extends EventEmitter implements Listener {
  readonly members: readonly Listener[];
  private open: number;

  constructor(members: Listener[]) {
    super();
    this.members = members;
    this.open = members.length;
    for (const m of members) {
      m.on('connection', (s: unknown) => this.emit('connection', s));
      m.on('error', (e: unknown) => this.emit('error', e));
      m.once('close', () => {
        this.open -= 1;
        if (this.open === 0) this.emit('close');
      });
    }
  }

  /** The first listener's address (Server.sockets lists them all). */
  address(): AddressInfo | string | null {
    return this.members[0]?.address() ?? null;
  }

  /** Every listener's address still open, in the order they were bound. */
  addresses(): (AddressInfo | string)[] {
    const out: (AddressInfo | string)[] = [];
    for (const m of this.members) {
      const a = m.address();
      if (a !== null) out.push(a);
    }
    return out;
  }

  /** Raw listeners made not accepting start accepting (net's accept from the start). */
  startAccepting(): void {
    for (const m of this.members) if (m instanceof RawListener) m.startAccepting();
  }

  get raw(): boolean {
    return this.members.every((m) => m instanceof RawListener);
  }

  close(): void {
    for (const m of this.members) m.close();
  }
}

/**
 * Binds each of `items` (an address each) one after another on `port` (port 0: the first picks,
 * the rest take its port).
 * An address whose family the system lacks (EAFNOSUPPORT) is skipped while another binds, as
 * asyncio skips a socket it cannot create; any other failure closes what was bound and is
 * raised, as asyncio's.
 * @throws {OSError} the first failure (EADDRINUSE, EADDRNOTAVAIL, …).
 */
export async function bindEach<A, T extends Listener>(
  items: readonly A[],
  port: number,
  bindOne: (item: A, port: number) => Promise<T>,
  portOf: (listener: T) => number,
): Promise<T[]> {
  for (let attempt = 1; ; attempt++) {
    const bound: T[] = [];
    let p = port;
    let skipped: unknown = null;
    try {
      for (const item of items) {
        let l: T;
        try {
          l = await bindOne(item, p);
        } catch (e) {
          if (e instanceof OSError && e.errnoName === 'EAFNOSUPPORT') {
            skipped = e;
            continue;
          }
          throw e;
        }
        bound.push(l);
        if (p === 0) p = portOf(l);
      }
    } catch (e) {
      for (const l of bound) l.close();
      const retry =
        port === 0 &&
        bound.length > 0 &&
        attempt < PORT_ZERO_TRIES &&
        e instanceof OSError &&
        e.errnoName === 'EADDRINUSE';
      if (retry) continue;
      throw e;
    }
    if (bound.length === 0) throw skipped;
    return bound;
  }
}
