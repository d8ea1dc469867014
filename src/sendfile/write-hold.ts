/**
 * Keeps other writes off a socket while transfers own it.
 *
 * sendfile(2) writes to the descriptor behind Node's back, and the copy loop writes chunk by
 * chunk; a `write()` by other code in between would land in the middle of the file's bytes. So
 * from the moment `sendfile()` is called until the last transfer queued on the socket ends, the
 * socket's own `write`/`end` are shadowed by instance methods that queue the calls; transfers
 * write through the prototype's methods, one after the other (a chain); when the last one ends,
 * the queued calls are replayed in order.
 *
 * The shadow keeps Node's contract for `write()`: it returns false once what waits — Node's
 * queue (the file's chunks on the copy loop) and the held writes — reaches the socket's
 * high-water mark, `writableNeedDrain` says so too, and a false is always followed by a
 * `'drain'`: Node's own, when the replayed writes filled its queue, else one emitted here after
 * the replay. A writer that waits for `'drain'` (or `StreamWriter.drain()`) therefore waits for
 * the transfer, instead of piling its writes up, and is not left waiting for ever.
 */
import type { Socket as NetSocket } from 'node:net';

type WriteArgs = Parameters<NetSocket['write']>;
type EndArgs = Parameters<NetSocket['end']>;
type Held = { kind: 'write'; args: WriteArgs } | { kind: 'end'; args: EndArgs };

interface HoldState {
  transfers: number;
  held: Held[];
  /** Bytes of the held writes. */
  heldBytes: number;
  /** A held write returned false: a 'drain' is owed. */
  needDrain: boolean;
  chain: Promise<void>;
}

const states = new WeakMap<NetSocket, HoldState>();

/** Node's default high-water mark of a writable stream (weft's raw transport has none). */
const DEFAULT_HWM = 16 * 1024;

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
    const state: HoldState = {
      transfers: 0,
      held: [],
      heldBytes: 0,
      needDrain: false,
      chain: Promise.resolve(),
    };
    st = state;
    states.set(ns, state);
    const self = ns as unknown as Record<string, unknown>;
    const realNeedDrain = protoGetter(ns, 'writableNeedDrain');
    self.write = (...args: WriteArgs): boolean => {
      state.held.push({ kind: 'write', args });
      state.heldBytes += byteLength(args);
      const hwm = ns.writableHighWaterMark ?? DEFAULT_HWM;
      if (ns.writableLength + state.heldBytes < hwm) return true;
      state.needDrain = true;
      return false;
    };
    self.end = (...args: EndArgs): NetSocket => {
      state.held.push({ kind: 'end', args });
      return ns;
    };
    Object.defineProperty(ns, 'writableNeedDrain', {
      configurable: true,
      get: () => state.needDrain || (realNeedDrain?.call(ns) as boolean | undefined) === true,
    });
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
      delete self.writableNeedDrain;
      const proto = Object.getPrototypeOf(ns) as NetSocket;
      for (const h of state.held) {
        if (h.kind === 'write') (proto.write as (...a: WriteArgs) => boolean).apply(ns, h.args);
        else (proto.end as (...a: EndArgs) => NetSocket).apply(ns, h.args);
      }
      // Node emits 'drain' itself only when its own queue went past the mark; the drain owed
      // for a held write comes from here otherwise, asynchronously as Node's does.
      if (state.needDrain && !ns.writableNeedDrain) {
        process.nextTick(() => {
          if (!ns.destroyed && !ns.writableEnded) ns.emit('drain');
        });
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

/** The size of a `write(chunk, encoding?, cb?)` call's chunk. */
function byteLength(args: WriteArgs): number {
  const [chunk, encoding] = args as [unknown, unknown];
  if (typeof chunk === 'string') {
    return Buffer.byteLength(
      chunk,
      typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8',
    );
  }
  return chunk instanceof Uint8Array ? chunk.byteLength : 0;
}

/** A getter of `obj`'s prototype chain (the shadow stands in front of it). */
function protoGetter(obj: object, name: string): (() => unknown) | undefined {
  for (let p = Object.getPrototypeOf(obj); p !== null; p = Object.getPrototypeOf(p)) {
    const d = Object.getOwnPropertyDescriptor(p, name);
    if (d !== undefined) return d.get;
  }
  return undefined;
}
