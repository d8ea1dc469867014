/**
 * Keeps other writes off a socket while transfers own it.
 *
 * sendfile(2) writes to the descriptor behind Node's back, and the copy loop writes chunk by
 * chunk; a `write()` by other code in between would land in the middle of the file's bytes. So
 * from the moment `sendfile()` is called until the last transfer queued on the socket ends, the
 * socket's own `write`/`end` are shadowed by instance methods that queue the calls; transfers
 * write through the prototype's methods, one after the other (a chain); when the last one ends,
 * the queued calls are replayed in order.
 */
import type { Socket as NetSocket } from 'node:net';

type WriteArgs = Parameters<NetSocket['write']>;
type EndArgs = Parameters<NetSocket['end']>;
type Held = { kind: 'write'; args: WriteArgs } | { kind: 'end'; args: EndArgs };

interface HoldState {
  transfers: number;
  held: Held[];
  chain: Promise<void>;
}

const states = new WeakMap<NetSocket, HoldState>();

export interface Hold {
  /** Resolves when the transfers queued before this one have ended. */
  ready: Promise<void>;
  /** Ends this transfer's turn (call exactly once). */
  release(): void;
}

/** Starts holding `ns`'s writes now (synchronously) and queues a transfer turn. */
export function holdWrites(ns: NetSocket): Hold {
  let st = states.get(ns);
  if (st === undefined) {
    const state: HoldState = { transfers: 0, held: [], chain: Promise.resolve() };
    st = state;
    states.set(ns, state);
    const self = ns as unknown as Record<string, unknown>;
    self.write = (...args: WriteArgs): boolean => {
      state.held.push({ kind: 'write', args });
      return false;
    };
    self.end = (...args: EndArgs): NetSocket => {
      state.held.push({ kind: 'end', args });
      return ns;
    };
  }
  const state = st;
  state.transfers++;
  const ready = state.chain;
  let done!: () => void;
  const mine = new Promise<void>((r) => (done = r));
  state.chain = ready.then(() => mine);
  let released = false;
  return {
    ready,
    release() {
      if (released) return;
      released = true;
      done();
      if (--state.transfers > 0) return;
      states.delete(ns);
      const self = ns as unknown as Record<string, unknown>;
      delete self.write;
      delete self.end;
      const proto = Object.getPrototypeOf(ns) as NetSocket;
      for (const h of state.held) {
        if (h.kind === 'write') (proto.write as (...a: WriteArgs) => boolean).apply(ns, h.args);
        else (proto.end as (...a: EndArgs) => NetSocket).apply(ns, h.args);
      }
    },
  };
}

/** Writes through the prototype (past a hold). */
export function rawWrite(
  ns: NetSocket,
  chunk: Uint8Array,
  cb?: (err?: Error | null) => void,
): boolean {
  const write = (Object.getPrototypeOf(ns) as NetSocket).write as (
    chunk: Uint8Array,
    cb?: (err?: Error | null) => void,
  ) => boolean;
  return write.call(ns, chunk, cb);
}
