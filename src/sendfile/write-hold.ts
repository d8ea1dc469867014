/**
 * Keeps other writes off a socket while transfers own it.
 *
 * sendfile(2) writes to the descriptor behind Node's back, and the copy loop writes chunk by
 * chunk; a `write()` by other code in between would land in the middle of the file's bytes. So
 * from the moment `sendfile()` is called until the last transfer queued on the socket ends, the
 * socket's own `write`/`end` are shadowed by instance methods that queue the calls; transfers
 * write through the prototype's methods, one after the other. A transfer queued behind another
 * takes its place in the same queue, as a turn marker: when the running transfer ends, the calls
 * held before the next marker are replayed, in order, and only then does that transfer start —
 * so a write made between two `sendfile()` calls goes out between their files, as it was
 * written. When the last transfer ends, the rest is replayed.
 *
 *   held: [ write 'a' | turn T2 | write 'b' | end ]     T1 running
 *   T1 ends ─► replay 'a' ─► T2 starts (it flushes 'a' first) ─► T2 ends ─► replay 'b', end
 *
 * The shadow keeps Node's contract for `write()`: it returns false once what waits — Node's
 * queue (the file's chunks on the copy loop) and the held writes — reaches the socket's
 * high-water mark, `writableNeedDrain` says so too, and a false is always followed by a
 * `'drain'`: Node's own, when the replayed writes filled its queue, else one emitted here after
 * the replay. A writer that waits for `'drain'` (or `StreamWriter.drain()`) therefore waits for
 * the transfer, instead of piling its writes up, and is not left waiting for ever.
 *
 * Node checks a write's arguments in the call (`write(123)` throws `ERR_INVALID_ARG_TYPE`); the
 * shadow checks them there too, so a bad call throws to its caller and is never held. Should a
 * replayed call throw all the same, the replay goes on (the rest of the queue, the next turn,
 * the shadow taken off) and the socket is destroyed with that error, as Node treats a write that
 * failed after it was accepted: 'error' on the socket, the call's callback given the error.
 */
import type { Socket as NetSocket } from 'node:net';
import { Writable } from 'node:stream';

type WriteArgs = Parameters<NetSocket['write']>;
type EndArgs = Parameters<NetSocket['end']>;
/** A transfer waiting for its turn: `start` resolves its `ready`; `released` when it ended
 * before its turn came (it failed early: an empty file, a bad descriptor). */
interface Turn {
  start: () => void;
  started: boolean;
  released: boolean;
}

type Held =
  | { kind: 'write'; args: WriteArgs }
  | { kind: 'end'; args: EndArgs }
  | { kind: 'turn'; turn: Turn };

interface HoldState {
  /** Transfers not yet released: the running one and those waiting for their turn. */
  transfers: number;
  /** Held calls and the turns of waiting transfers, in call order. */
  held: Held[];
  /** Bytes of the held writes. */
  heldBytes: number;
  /** A held write returned false: a 'drain' is owed. */
  needDrain: boolean;
}

const states = new WeakMap<NetSocket, HoldState>();

/** Node's default high-water mark of a writable stream (weft's raw transport has none). */
const DEFAULT_HWM = 16 * 1024;

export interface Hold {
  /** Resolves when the transfers queued before this one have ended and the writes held before
   * this call were handed to the socket. */
  ready: Promise<void>;
  /** Ends this transfer's turn (call exactly once). */
  release(): void;
}

/** Starts holding `ns`'s writes now (synchronously) and queues a transfer turn. */
export function holdWrites(ns: NetSocket): Hold {
  let st = states.get(ns);
  if (st === undefined) {
    const state: HoldState = { transfers: 0, held: [], heldBytes: 0, needDrain: false };
    st = state;
    states.set(ns, state);
    const self = ns as unknown as Record<string, unknown>;
    const realNeedDrain = protoGetter(ns, 'writableNeedDrain');
    self.write = (...args: WriteArgs): boolean => {
      checkWrite(ns, args[0], args[1]);
      state.held.push({ kind: 'write', args });
      state.heldBytes += byteLength(args);
      const hwm = ns.writableHighWaterMark ?? DEFAULT_HWM;
      if (ns.writableLength + state.heldBytes < hwm) return true;
      state.needDrain = true;
      return false;
    };
    self.end = (...args: EndArgs): NetSocket => {
      checkEnd(ns, args);
      state.held.push({ kind: 'end', args });
      return ns;
    };
    Object.defineProperty(ns, 'writableNeedDrain', {
      configurable: true,
      get: () => state.needDrain || (realNeedDrain?.call(ns) as boolean | undefined) === true,
    });
  }
  const state = st;
  let ready: Promise<void>;
  let turn: Turn | null = null;
  if (state.transfers++ === 0) {
    // No transfer holds the socket: this one runs at once.
    ready = Promise.resolve();
  } else {
    // Behind the running transfer, and behind the writes held before this call.
    let start!: () => void;
    ready = new Promise<void>((r) => (start = r));
    turn = { start, started: false, released: false };
    state.held.push({ kind: 'turn', turn });
  }
  let released = false;
  return {
    ready,
    release() {
      if (released) return;
      released = true;
      state.transfers--;
      // Ended before its turn came: its place in the queue is skipped when reached.
      if (turn !== null && !turn.started) {
        turn.released = true;
        return;
      }
      replay(ns, state);
    },
  };
}

/**
 * The running transfer ended: replays the held calls up to the turn of the next transfer still
 * waiting and starts that one; with none left, replays the rest and takes the shadow off.
 */
function replay(ns: NetSocket, state: HoldState): void {
  const proto = Object.getPrototypeOf(ns) as NetSocket;
  const held = state.held;
  for (let i = 0; i < held.length; i++) {
    const h = held[i] as Held;
    if (h.kind === 'write') {
      state.heldBytes -= byteLength(h.args);
      replayCall(ns, proto.write as (...a: unknown[]) => unknown, h.args);
    } else if (h.kind === 'end') {
      replayCall(ns, proto.end as (...a: unknown[]) => unknown, h.args);
    } else if (!h.turn.released) {
      // What a replayed write leads to (an 'error', a 'drain') comes later, never in this loop:
      // the list is cut here before that transfer can add to it.
      held.splice(0, i + 1);
      h.turn.started = true;
      h.turn.start();
      return;
    }
  }
  held.length = 0;
  states.delete(ns);
  const self = ns as unknown as Record<string, unknown>;
  delete self.write;
  delete self.end;
  delete self.writableNeedDrain;
  // Node emits 'drain' itself only when its own queue went past the mark; the drain owed
  // for a held write comes from here otherwise, asynchronously as Node's does.
  if (state.needDrain && !ns.writableNeedDrain) {
    process.nextTick(() => {
      if (!ns.destroyed && !ns.writableEnded) ns.emit('drain');
    });
  }
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

/**
 * Replays one held call. One that throws (its arguments passed the check at the call) must not
 * stop the replay: the socket is destroyed with the error — the bytes after it would otherwise
 * reach the peer with a hole before them — and the call's callback gets it, as Node's for a
 * write that fails after it was accepted.
 */
function replayCall(ns: NetSocket, fn: (...a: unknown[]) => unknown, args: unknown[]): void {
  try {
    fn.apply(ns, args);
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    const cb = args.findLast((a) => typeof a === 'function') as ((err: Error) => void) | undefined;
    if (cb !== undefined) process.nextTick(cb, err);
    ns.destroy(err);
  }
}

/** A stream Node's argument checks run on, for their exact errors (it is never written to). */
let probe: Writable | null = null;

/**
 * Throws what Node's `write(chunk, encoding)` throws in the call (the socket itself is not
 * touched): `ERR_STREAM_NULL_VALUES`, `ERR_INVALID_ARG_TYPE`, `ERR_UNKNOWN_ENCODING`. weft's raw
 * transport takes no encoding (it writes strings as UTF-8): only the chunk is checked there.
 */
function checkWrite(ns: NetSocket, chunk: unknown, encoding: unknown): void {
  const writable = ns instanceof Writable;
  const enc = !writable || typeof encoding === 'function' ? undefined : encoding;
  if (
    (typeof chunk === 'string' || ArrayBuffer.isView(chunk)) &&
    (!enc || enc === 'buffer' || (typeof enc === 'string' && Buffer.isEncoding(enc)))
  ) {
    return;
  }
  // A bad call: Node's own check words the error. The probe discards what it is given, should
  // it accept the call after all (then so would the socket: the call is held).
  probe ??= new Writable({ write: (_c, _e, cb) => cb() });
  probe.write(chunk, enc as BufferEncoding);
}

/** `end(chunk?, encoding?, cb?)`: the chunk, if any, as `write` checks it (net's sockets). */
function checkEnd(ns: NetSocket, args: EndArgs): void {
  const [chunk, encoding] = args as unknown[];
  if (!(ns instanceof Writable) || typeof chunk === 'function' || chunk == null) return;
  checkWrite(ns, chunk, encoding);
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
  // Node takes any ArrayBufferView (a DataView, a Float64Array), by its bytes.
  return ArrayBuffer.isView(chunk) ? chunk.byteLength : 0;
}

/** A getter of `obj`'s prototype chain (the shadow stands in front of it). */
function protoGetter(obj: object, name: string): (() => unknown) | undefined {
  for (let p = Object.getPrototypeOf(obj); p !== null; p = Object.getPrototypeOf(p)) {
    const d = Object.getOwnPropertyDescriptor(p, name);
    if (d !== undefined) return d.get;
  }
  return undefined;
}
