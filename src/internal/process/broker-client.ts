/**
 * A process's (a thread's) connection to the broker (broker.ts). The root process starts the
 * broker on first use, on a worker thread, and publishes its socket path in the environment
 * (WEFT_BROKER), so that every child and grandchild it starts afterwards connects to the same one.
 *
 * Implementation notes
 * - Requests made before the socket is connected wait in the out-buffer. The first message of
 *   an event-loop turn is written at once; the ones after it in the same turn travel in one
 *   frame (flushed from setImmediate), so that consecutive puts cost one write, not one each.
 *   (Writing every message at once while the socket is empty was tried: the kernel takes each
 *   at once, so nothing ever batched, and a JoinableQueue's producer and consumers fell from
 *   ~500k to ~50k items/s.) The price: puts followed by seconds of synchronous work send the
 *   first at once and the rest when the turn ends; `drain()` (a Queue's `joinThread()`) writes
 *   what is queued within the call, for a producer about to compute.
 *   A message another process may be waiting for (AT_ONCE: a release, an Event's set, a
 *   notify) is written at once with everything queued before it, in order: the process may go
 *   on with synchronous work, during which no setImmediate runs (Python's feeder thread and
 *   direct socket writes send it at once). A write on a connected socket with nothing queued
 *   goes to the kernel within the call (libuv's uv_write tries at once); behind frames the
 *   kernel has not taken, it also goes through the sync client thread (`post`, `syncPrelude`).
 *   Before 'connect' (which only a turn of the loop reports: a child's target may post and
 *   compute before it), a raw socket the system has connected already is used at once, and
 *   otherwise the sync client thread, which connects on its own, takes what is queued.
 * - The socket is ref'd only while a reply is awaited: an idle connection never keeps a process
 *   alive. A `watch` (a request that may wait for ever: a Pipe writer waiting to hear that
 *   nobody reads any more) does not count.
 * - `post` (request number −1) is fire-and-forget: no reply, in order with everything else.
 * - Blocking calls go through this thread's sync client (broker-sync.ts) on a socket of its own.
 *   So that one sees everything this thread did before it, `syncPrelude` hands it what this
 *   client has not written yet, or not wholly handed to the kernel (shipped with the blocking
 *   request: the broker runs each message once), and how many messages were written before
 *   those (the broker holds the blocking request until it has run that many from us).
 */
import { spawnSync } from 'node:child_process';
import { unlinkSync, writeSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BroadcastChannel, isMainThread, threadId } from 'node:worker_threads';
import { identity } from '../../multiprocessing/process-identity.js';
import { BrokenPipeError, ConnectionRefusedError } from '../../socket/errors.js';
import { describeError, RuntimeError } from '../errors.js';
import { sharedHooks } from '../hooks.js';
import {
  assertCloneable,
  decodeError,
  type EncodedError,
  NotCloneableError,
} from '../serialize.js';
import { adoptBroker, claimBroker, selfTid, takeWantedBroker, threadName } from '../shm/world.js';
import { beforeThreadExit } from '../thread-exit.js';
import { setRawItems } from '../v8-format.js';
import { BROKER_CHANNEL, listenForBrokerRequests, spawnWorker } from '../worker/spawn.js';
import { FrameReader, frame, onChunks, RawSocket, type Reply, unframe } from './broker-wire.js';
import {
  announced,
  joinSlab,
  mapSlab,
  removeTreeFiles,
  slabPathOf,
  sweepStaleSlabs,
} from './lock-slab.js';
import { markQueued, POLL_READS, setShip, setUnshipped } from './unshipped.js';

export const ENV_BROKER = 'WEFT_BROKER';

/** Trade-off: how long a child keeps retrying a broker that is still starting. The broker is a
 * worker thread of the root process that may have to compile its modules first (tsx): on a loaded
 * 2-core machine that took more than 10 s, failing children that would have worked. A broker that
 * really is gone fails the child after this long. */
export const CONNECT_RETRY_MS = 60_000;

/** Trade-off: messages (and items per putMany) sent in one frame before a synchronous flush:
 * bounds memory and latency of a producer that never yields, at the cost of more frames. */
const FLUSH_AT = 256;

/**
 * Fire-and-forget operations another process may be blocked on: written at once, with what was
 * queued before them, rather than at the end of the turn (which synchronous work may delay for
 * seconds while the other process waits on a lock already released).
 */
const AT_ONCE = new Set(['release', 'semRelease', 'set', 'clear', 'notify', 'barrierAbort']);
/** Tuning: how long an exiting process keeps trying to write what it queued (a full socket). */
const EXIT_WRITE_MS = 2_000;
const EAGAIN = 'EAGAIN';
/**
 * Tuning: how long an exiting process waits for the helper that sends what it queued, beyond the
 * helper's own wait for a broker still starting (CONNECT_RETRY_MS).
 */
const EXIT_HELPER_MS = 10_000;
/**
 * The helper of #writeAtExit (plain CommonJS for `node -e`, no weft, no loader): reads its stdin
 * (one frame: hello, then the messages), connects to the broker at argv[1] — retrying for argv[2]
 * ms while the broker is still starting, as long as the client itself would have — writes the
 * frame and closes.
 */
const SEND_AND_CLOSE = `
const net = require('node:net');
const chunks = [];
const started = Date.now();
const retryMs = Number(process.argv[2]);
function send(frame) {
  const s = net.connect(process.argv[1], () => s.end(frame));
  s.on('error', (e) => {
    if ((e.code === 'ENOENT' || e.code === 'ECONNREFUSED') && Date.now() - started < retryMs) {
      setTimeout(send, 20, frame);
      return;
    }
    process.stderr.write(e.message);
    process.exitCode = 1;
  });
}
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', () => send(Buffer.concat(chunks)));
`;

/**
 * Bytes given to `s.write` that the kernel has not taken: what Node's stream holds, less what
 * libuv already wrote of the chunk in flight. Null where Node's internals differ.
 */
function unsentBytes(s: Socket | RawSocket): number | null {
  if (s.writableLength === 0 || s instanceof RawSocket) return s.writableLength;
  const st = (s as unknown as { _writableState?: { writing?: unknown; writelen?: unknown } })
    ._writableState;
  const queued = (s as unknown as { _handle?: { writeQueueSize?: unknown } })._handle
    ?.writeQueueSize;
  if (st === undefined || typeof queued !== 'number') return null;
  if (st.writing !== true) return s.writableLength;
  if (typeof st.writelen !== 'number') return null;
  return s.writableLength - st.writelen + queued;
}

/** The descriptor under `s` (an exiting process writes to it itself), if Node's says. */
function fdOf(s: Socket | RawSocket | null): unknown {
  if (s instanceof RawSocket) return s.fd;
  return (s as unknown as { _handle?: { fd?: unknown } } | null)?._handle?.fd;
}

/** An exiting process could not send `count` messages: said on stderr, never dropped silently. */
function reportLost(count: number, why: string): void {
  process.stderr.write(
    `weft: ${count} multiprocessing message(s) queued at exit did not reach the broker (${why})\n`,
  );
}

/**
 * Writes all of `buf` to the non-blocking descriptor `fd`, waiting out a full socket buffer for
 * at most `ms`; returns null, or why it could not and how many bytes the kernel took before.
 */
function writeAllSync(
  fd: number,
  buf: Buffer,
  ms: number,
): { error: string; written: number } | null {
  const deadline = Date.now() + ms;
  const nap = new Int32Array(new SharedArrayBuffer(4));
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(fd, buf, off);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== EAGAIN || Date.now() >= deadline)
        return { error: code ?? String(e), written: off };
      Atomics.wait(nap, 0, 0, 1);
    }
  }
  return null;
}
const PUT_BATCH = 1024;

const brokerRole = new URL(
  `./broker-thread${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`,
  import.meta.url,
).href;

function pathOf(nonce: number): string {
  return join(tmpdir(), `weft-${process.pid}-${nonce.toString(36)}.sock`);
}

/**
 * The broker's socket path, decided (and the broker started) now if it was not yet. A child
 * process inherits it (WEFT_BROKER); the threads of one process share one broker through the
 * world buffer, whichever thread asks first — a thread started before the main thread's first
 * use has an older copy of the environment and would otherwise start a second broker that the
 * others never see. Called also where a thread or child is about to start that may use
 * multiprocessing later than this thread (a child learns the path only at its fork).
 */
export function ensureBroker(): string {
  let path = process.env[ENV_BROKER];
  if (path) return path;
  const { nonce, claimed } = claimBroker();
  path = pathOf(nonce);
  // The lock slab exists before any child can learn the path: children only open it.
  mapSlab(path);
  process.env[ENV_BROKER] = path;
  if (isMainThread) {
    if (claimed || takeWantedBroker()) startBrokerThread(path);
  } else if (claimed) {
    // Started from here it would end with this worker: the main thread starts it (spawn.ts
    // listens); this client retries connecting meanwhile.
    const bc = new BroadcastChannel(BROKER_CHANNEL);
    bc.postMessage({ nonce });
    bc.close();
  }
  return path;
}

// A plain `new Worker` (not started by weft) that uses multiprocessing before this process's
// main thread has asks the main thread to start the broker: listened for from multiprocessing's
// load on, or its calls would wait for a broker nobody starts, keeping its thread alive.
listenForBrokerRequests();

/**
 * Main thread, asked by a worker (spawn.ts): starts the broker that worker claimed — in this
 * thread's world (a weft thread's), or, for a plain `new Worker`'s claim in a world of its own,
 * the one its `nonce` names, when this process has none yet.
 */
export function startWantedBroker(nonce?: unknown): void {
  let path: string;
  if (takeWantedBroker()) path = pathOf(claimBroker().nonce);
  else if (
    typeof nonce === 'number' &&
    Number.isInteger(nonce) &&
    // A child process uses its root's broker (named in its environment): a plain Worker that
    // was started without that environment claimed one of its own, which must not start.
    (!process.env[ENV_BROKER] || process.env[ENV_BROKER] === pathOf(nonce)) &&
    adoptBroker(nonce)
  )
    path = pathOf(nonce);
  else return;
  mapSlab(path);
  process.env[ENV_BROKER] ??= path;
  startBrokerThread(path);
}

/**
 * Test-only: WEFT_BROKER_MAX_OLD_MB, a number of megabytes, caps the broker thread's old
 * generation (a Worker's `resourceLimits.maxOldGenerationSizeMb`), so that a test can show a
 * backlog larger than the broker's heap surviving (broker-store.ts) without gigabytes of items.
 */
function brokerLimits(): { maxOldGenerationSizeMb: number } | undefined {
  const mb = Number(process.env.WEFT_BROKER_MAX_OLD_MB);
  return Number.isFinite(mb) && mb > 0 ? { maxOldGenerationSizeMb: mb } : undefined;
}

function startBrokerThread(path: string): void {
  const w = spawnWorker({
    role: brokerRole,
    payload: { path },
    name: 'weft-broker',
    resourceLimits: brokerLimits(),
  });
  // The slab files of roots killed before their 'exit' (the unlink below never ran).
  sweepStaleSlabs();
  w.unref();
  process.once('exit', () => {
    removeTreeFiles(path);
    for (const file of [path, slabPathOf(path)]) {
      try {
        unlinkSync(file);
      } catch {
        // already gone, or never made (no slab)
      }
    }
  });
}

/**
 * Run before every frame this thread sends (and before a blocking call ships its messages):
 * state that must travel with whatever goes next — the queue's "how far I took a lent batch",
 * which must reach the broker no later than a taskDone or put that followed the take.
 */
const beforeSend = sharedHooks<() => void>('beforeBrokerSend');
export function beforeBrokerSend(fn: () => void): void {
  beforeSend.add(fn);
}

/** How the broker names this thread in its errors: the process, and the thread if not its main. */
export function sessionName(): string {
  const name = BrokerClient.processName ?? identity().name;
  return isMainThread ? name : `${name}, thread ${threadName(selfTid)}`;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

/**
 * Sends what this thread's socket has not handed to the kernel through its sync client, without
 * waiting (broker-sync.ts sets it: that module stands on this one).
 */
let shipStuck: (() => void) | null = null;
/**
 * At exit: when this thread's sync client shipped messages nobody waited for (`shipStuck`), a
 * blocking ping through it, so that its connection has delivered them — and said hello — before
 * the process ends. True when it answered. (broker-sync.ts sets it.)
 */
let confirmShipped: (() => boolean) | null = null;

/** @internal */
export function setShipStuck(fn: () => void, confirm?: () => boolean): void {
  shipStuck = fn;
  if (confirm) confirmShipped = confirm;
}

/**
 * A frame handed to the socket, while the kernel may not have all of it. Its messages are not
 * kept beside its bytes: a producer far ahead of the broker has many such frames, and their
 * messages (an item's string each) held on the heap until the kernel took the frame were most of
 * that producer's garbage-collection work. A blocking call that must ship them reads them back
 * from the bytes (`messagesOf`), as the broker would.
 */
interface WrittenFrame {
  /** `#bytes` and `#sent` once it was written. */
  bytesEnd: number;
  sentEnd: number;
  /** How many messages it carries. */
  count: number;
  f: Buffer;
  /** Its number among the frames written (`#framesWritten` then). */
  n: number;
}

/**
 * The messages of a frame this client wrote, read back from its bytes (a typed array in them is
 * a view of the frame, which nothing writes to: they are cloned or serialized on their way).
 */
function messagesOf(f: Buffer): unknown[] {
  // Read as the broker's client reads: a broker started on this very thread (a test's, see
  // startBroker) reads frames with RawItems, which a blocking call could not ship.
  const was = setRawItems(false);
  try {
    return unframe(f.subarray(4));
  } finally {
    setRawItems(was);
  }
}

export class BrokerClient {
  /** net.Socket, or a RawSocket where the addon has Unix sockets (broker-wire.ts). */
  #socket: Socket | RawSocket | null = null;
  #connected = false;
  #out: unknown[] = [];
  #scheduled = false;
  #next = 1;
  /**
   * How many permits granted to this client's withdrawable Semaphore acquires it has taken, in
   * the broker's order (`requestTakenBack`; broker-conn.ts, `Conn.grants`).
   */
  #grantsSeen = 0;
  #pending = new Map<number, Pending>();
  /** Requests of #pending that are watches: they do not keep the process alive. */
  #weak = new Set<number>();
  #path: string;
  #failed: Error | null = null;
  #started = Date.now();
  #inHooks = false;
  /** Messages written to the socket (hello included): the broker counts the same. */
  #sent = 0;
  /** Bytes written to the socket. */
  #bytes = 0;
  /** Messages up to this number went to the broker with a blocking call (see syncPrelude). */
  #shippedThrough = 0;
  /**
   * Messages shipped through the sync client before the socket was connected (`post`, see
   * syncPrelude): they follow the hello on the socket as messages 2, 3, …, which the broker
   * skips, having run them.
   */
  #shippedEarly: unknown[] = [];
  /** Frames the socket has not fully handed to the kernel yet (see syncPrelude). */
  #unsettled: WrittenFrame[] = [];
  /** Frames handed to `socket.write`, and how many of them Node said were written, in order. */
  #framesWritten = 0;
  #framesDone = 0;
  /**
   * One callback for every frame: Node calls write callbacks in write order, and with an error
   * from the first that failed on, so the successes are a prefix. When the connection fails,
   * Node may already have dropped what it held (a destroyed socket's buffer is emptied before
   * its 'error' is emitted); this count still says which frames never went out.
   */
  readonly #onWritten = (err?: Error | null): void => {
    if (!err) this.#framesDone++;
  };
  /** Messages the socket still held when the connection failed (lost with it). */
  #lostAtFail = 0;
  /** Identity sent at connect: a Process's child sets it early; otherwise the process's identity. */
  static processName: string | null = null;

  /** This thread's number in the lock slab (lock-slab.ts; 0: no slab), sent in its hello. */
  readonly slabSession: number;

  constructor() {
    this.#path = ensureBroker();
    this.slabSession = joinSlab(this.#path);
    this.#connect();
    // `process.exit()` ends the process before the setImmediate that would send what this turn
    // queued (a child's last puts, its taskDone): hand it to the socket now. A write on a socket
    // with nothing queued goes to the kernel at once, and the kernel delivers it after the exit,
    // as Python's feeder thread is joined at exit.
    process.once('exit', () => {
      // A shipment of the sync client still on its way (its thread may not even have connected
      // yet) would otherwise reach the broker after this process's socket has closed: a new
      // session, which ran what the socket had delivered a second time (a release twice).
      // Answered, the sync connection delivered it: what the socket would send again is done.
      if (!this.#failed && confirmShipped?.() === true) this.#shippedEarly = [];
      if (this.#failed) {
        // Frames the socket had not handed to the kernel when the connection failed are lost
        // with it, as is what was queued since.
        const lost = this.#lostAtFail + this.#out.length;
        if (lost > 0) reportLost(lost, this.#failed.message);
      } else if (this.#connected) this.#finishAtExit();
      else if (this.#out.length > 0 || this.#shippedEarly.length > 0) this.#writeAtExit();
    });
    // A thread or pool worker about to end waits for what it sent to arrive: puts still waiting
    // for the connection (a broker just starting) would end with it.
    beforeThreadExit(() => this.drain());
  }

  /** The broker's socket path. */
  get path(): string {
    return this.#path;
  }

  /** @internal Requests (answered operations) this thread has made: tests bound them. */
  get _requests(): number {
    return this.#next - 1;
  }

  get owner(): string {
    return `${process.pid}:${threadId}`;
  }

  #connect(): void {
    const s: Socket | RawSocket = RawSocket.connect(this.#path) ?? connect(this.#path);
    this.#socket = s;
    const reader = new FrameReader(
      (ms) => {
        for (const m of ms) this.#onReply(m as Reply);
      },
      (e) => {
        // Which replies the frame held is gone with it: every request still waiting fails, and
        // the connection ends (the broker then frees what this thread held, as at its end). The
        // item a lost reply carried is gone, as Python's get whose unpickling fails loses it.
        this.#fail(
          new RuntimeError(
            `A reply of the multiprocessing broker could not be read in this thread (${describeError(e)}); every request waiting on the broker failed with this error, and this thread's connection to it is closed: send flatter data, or read it in a thread with a larger stack (threading.stackSize())`,
            'ERR_WEFT_UNREADABLE_MESSAGE',
          ),
        );
        s.destroy();
      },
    );
    s.on('connect', () => this.#onConnect());
    onChunks(s, (d) => reader.push(d));
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (
        !this.#connected &&
        (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') &&
        Date.now() - this.#started < CONNECT_RETRY_MS
      ) {
        s.destroy();
        setTimeout(() => this.#connect(), 20);
        return;
      }
      // Python's classes for a peer gone: its Connection raises BrokenPipeError (or EOFError)
      // once the other end is closed, and ConnectionRefusedError when nothing listens.
      this.#fail(
        this.#connected
          ? new BrokenPipeError(
              `The connection to the multiprocessing broker at ${this.#path} broke: ${e.message}`,
              { cause: e },
            )
          : new ConnectionRefusedError(
              `The multiprocessing broker at ${this.#path} is unreachable: ${e.message}`,
              { cause: e },
            ),
      );
    });
    s.on('close', () => {
      if (this.#connected)
        this.#fail(
          new BrokenPipeError(
            'The multiprocessing broker closed the connection (its process ended)',
          ),
        );
    });
    this.#updateRef();
  }

  /**
   * The socket is connected: the hello goes first, then what the sync client shipped early (the
   * broker skips those, having run them: see syncPrelude) and what is queued. Run on 'connect',
   * or earlier by `post` for a raw socket whose connect(2) has completed (RawSocket.connect).
   */
  #onConnect(): void {
    if (this.#connected) return;
    this.#connected = true;
    const early = this.#shippedEarly;
    this.#out = [this.#hello(), ...early, ...this.#out];
    // Messages 2 to 1 + early.length (the hello is 1) ran when they were shipped.
    if (early.length > 0) this.#shippedThrough = 1 + early.length;
    this.#shippedEarly = [];
    this.#flush();
    // The hello is with the kernel: from now on, a lock this thread takes in the slab is one
    // the broker can free if the process dies.
    announced();
    // Connected: the socket holds the process only while a reply is awaited.
    this.#updateRef();
  }

  /** The first message of a session: who is on this connection. */
  #hello(): unknown {
    return {
      r: -1,
      o: 'hello',
      a: [process.pid, sessionName(), this.owner, 'a', this.slabSession],
    };
  }

  /**
   * `process.exit()` before the socket's 'connect' callback ran: a process that puts and exits
   * in the turn its client was made in, or the next one (on Node 22 a child's target starts that
   * soon). An exiting process has no later turn of the loop, so the hello and what is queued are
   * sent synchronously, as #flush would have sent them on 'connect':
   *   - connect(2) on a Unix socket completes at once, and libuv only reports it a turn later:
   *     when the kernel has the connection, the frame is written to the descriptor directly;
   *   - when libuv has not even called connect(2) yet (it does that on the next tick: ENOTCONN),
   *     a short-lived `node` connects and writes the frame, and this process waits for it.
   * What cannot be sent is reported on stderr: an item is never dropped without a word.
   */
  #writeAtExit(): void {
    this.#runBeforeSend();
    // What the sync client shipped early goes again, in its place: that thread may be ended
    // with the process before it sent them (the broker runs each once).
    const ms = [...this.#shippedEarly, ...this.#out];
    this.#out = [];
    this.#shippedEarly = [];
    const lost = (why: string): void => reportLost(ms.length, why);
    const framed = this.#frameOf([this.#hello(), ...ms]);
    if (framed === null) return;
    const buf = framed[0];
    const fd = fdOf(this.#socket);
    if (typeof fd === 'number' && fd >= 0) {
      const failed = writeAllSync(fd, buf, EXIT_WRITE_MS);
      if (failed === null) return;
      if (failed.error !== 'ENOTCONN') {
        lost(failed.error);
        return;
      }
    }
    // The broker may still be starting (its thread loading modules on a loaded machine): the
    // helper waits for it as long as a connected client would have, so a process that puts and
    // exits at once loses nothing that a process living a little longer would have sent.
    const retryMs = CONNECT_RETRY_MS - (Date.now() - this.#started);
    const r = spawnSync(
      process.execPath,
      ['-e', SEND_AND_CLOSE, this.#path, String(Math.max(0, retryMs))],
      {
        input: buf,
        stdio: ['pipe', 'ignore', 'pipe'],
        timeout: Math.max(0, retryMs) + EXIT_HELPER_MS,
      },
    );
    if (r.status !== 0) {
      lost(r.error?.message ?? (r.stderr.toString().trim() || `helper exited with ${r.status}`));
    }
  }

  /**
   * The 'exit' of a connected client. Node's socket may still hold bytes of an earlier frame (a
   * large put: the kernel took part of it), which libuv would write on a later turn that an
   * exiting process does not have; and this turn's messages are not framed yet. Both go to the
   * descriptor now, synchronously, in order: the unsent tail of the earlier frames, then the new
   * frame. How much is unsent is Node's own count of what its socket holds (`writableLength`),
   * less the part of the write in flight that libuv already handed to the kernel
   * (`writelen - writeQueueSize`). Where those fields are not there (another Node), the socket
   * gets the frame as before and a pending tail is reported.
   */
  #finishAtExit(): void {
    this.#runBeforeSend();
    const s = this.#socket as Socket | RawSocket;
    const framed = this.#out.length > 0 ? this.#frameOf(this.#out) : null;
    const count = framed === null ? 0 : framed[1].length;
    this.#out = [];
    const unsent = unsentBytes(s);
    const fd = fdOf(s);
    if (unsent === null || typeof fd !== 'number' || fd < 0) {
      // Node's count includes the part of the write in flight that the kernel may have taken:
      // the frames it touches are counted, so the report errs on the side of too many.
      const before = s.writableLength;
      if (framed !== null) s.write(framed[0]);
      if (s.writableLength > 0) {
        reportLost(this.#stuck(before) + count, 'the socket still held data at exit');
      }
      return;
    }
    // What goes to the descriptor, in order: the unsent tails of earlier frames, then this
    // turn's frame; `ends` and `counts` say where each frame ends there and how many messages
    // it carries, so that a failed write reports exactly the messages not wholly written.
    const parts: Buffer[] = [];
    const ends: number[] = [];
    const counts: number[] = [];
    if (unsent > 0) {
      const held = Buffer.concat(this.#unsettled.map((u) => u.f));
      if (held.length < unsent) {
        reportLost(this.#stuck(unsent) + count, 'the unsent bytes are not all known');
        return;
      }
      parts.push(held.subarray(held.length - unsent));
      const from = this.#bytes - unsent;
      for (const u of this.#unsettled) {
        if (u.bytesEnd <= from) continue;
        ends.push(u.bytesEnd - from);
        counts.push(u.count);
      }
    }
    if (framed !== null) {
      parts.push(framed[0]);
      ends.push(unsent + framed[0].length);
      counts.push(count);
    }
    if (parts.length === 0) return;
    const failed = writeAllSync(
      fd,
      parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts),
      EXIT_WRITE_MS,
    );
    if (failed === null) return;
    let lost = 0;
    for (let i = 0; i < ends.length; i++)
      if ((ends[i] as number) > failed.written) lost += counts[i] as number;
    reportLost(lost, failed.error);
  }

  /**
   * Messages in the frames written to the socket earlier whose bytes are not all with the kernel,
   * given that the last `unsent` bytes written are not (a frame cut short is lost whole: the
   * broker cannot read part of one).
   */
  #stuck(unsent: number): number {
    if (unsent <= 0) return 0;
    const from = this.#bytes - unsent;
    let n = 0;
    for (const u of this.#unsettled) {
      // Not those a blocking call shipped (syncPrelude): the broker has run them.
      if (u.bytesEnd > from) n += Math.max(0, Math.min(u.count, u.sentEnd - this.#shippedThrough));
    }
    return n;
  }

  /** One frame of `ms` and the messages in it: any a host object slipped into is failed. */
  #frameOf(ms: unknown[]): [Buffer, unknown[]] | null {
    try {
      return [frame(ms), ms];
    } catch {
      // Something assertCloneable let through (a host object): send the others, fail those.
      const ok = ms.filter((m) => this.#serializable(m));
      return ok.length === 0 ? null : [frame(ok), ok];
    }
  }

  #fail(e: Error): void {
    // A broken connection reports an 'error' and then 'close': the first says why.
    if (this.#failed !== null) return;
    this.#failed = e;
    // Node empties the socket once it is closed: count now what it still held.
    const s = this.#socket;
    const unsent = s === null ? null : unsentBytes(s);
    // Frames whose write Node has not completed: lost, whatever Node's buffer still says.
    let lost = 0;
    for (const u of this.#unsettled) if (u.n >= this.#framesDone) lost += u.count;
    this.#lostAtFail = unsent === null || unsent === 0 ? lost : Math.max(lost, this.#stuck(unsent));
    this.#unsettled = [];
    for (const p of this.#pending.values()) p.reject(e);
    this.#pending.clear();
    this.#weak.clear();
  }

  #onReply(m: Reply): void {
    if (m.r === 0 && m.unreadable !== undefined) {
      this.#fail(new RuntimeError(m.unreadable, 'ERR_WEFT_UNREADABLE_MESSAGE'));
      return;
    }
    const p = this.#pending.get(m.r);
    if (!p) return;
    this.#pending.delete(m.r);
    if (this.#weak.size > 0) this.#weak.delete(m.r);
    this.#updateRef();
    if (m.e !== undefined) p.reject(decodeError(m.e as EncodedError));
    else if (m.c === 1) p.reject(kCancelled);
    else p.resolve(m.v);
  }

  #updateRef(): void {
    const s = this.#socket;
    // Until 'connect' a socket is ref'd, and Node queues each ref() or unref() made meanwhile
    // as a 'connect' listener of its own (eleven requests at once, as a wait() on eleven
    // Connections makes, printed a MaxListenersExceededWarning): 'connect' settles it.
    if (!s || !this.#connected) return;
    if (this.#pending.size > this.#weak.size) s.ref();
    else s.unref();
  }

  #send(m: unknown, atOnce = false): void {
    this.#out.push(m);
    markQueued();
    // A beforeSend hook's post joins the frame the flush running it is about to write.
    if (!this.#connected || this.#inHooks) return;
    // A long synchronous run of sends (a producer's loop) goes out in pieces, not one huge frame.
    // Messages wait here only behind bytes the socket has not handed to the kernel (see the
    // notes at the top): a message held for the end of the turn could wait out seconds of
    // synchronous work that follows it.
    if (atOnce || this.#out.length >= FLUSH_AT) {
      this.#flush(true);
      return;
    }
    if (this.#scheduled) return;
    // The first of the turn goes now (a process that puts and then computes is not silent for
    // the whole computation); the turn's later ones wait for the setImmediate, in one frame.
    this.#flush(true);
    this.#scheduled = true;
    setImmediate(this.#endOfTurn);
  }

  /** Runs the beforeSend hooks (their posts join what is about to go out), never re-entered. */
  #runBeforeSend(): void {
    if (this.#inHooks || beforeSend.size === 0) return;
    this.#inHooks = true;
    try {
      for (const fn of beforeSend) fn();
    } finally {
      this.#inHooks = false;
    }
  }

  readonly #endOfTurn = (): void => this.#flush();

  /** `inTurn`: a flush within the turn, which leaves the end-of-turn one scheduled. */
  #flush(inTurn = false): void {
    if (!inTurn) this.#scheduled = false;
    if (!this.#connected) return;
    this.#runBeforeSend();
    if (this.#out.length === 0) return;
    const framed = this.#frameOf(this.#out);
    this.#out = [];
    if (framed === null) return;
    const [f, ms] = framed;
    this.#sent += ms.length;
    this.#bytes += f.length;
    const s = this.#socket as Socket | RawSocket;
    const n = this.#framesWritten++;
    s.write(f, this.#onWritten);
    // Usually the kernel took the whole frame at once; otherwise remember what is still pending.
    const u = this.#unsettled;
    if (s.writableLength === 0) u.length = 0;
    else {
      u.push({ bytesEnd: this.#bytes, sentEnd: this.#sent, count: ms.length, f, n });
      // Only this thread's event loop writes the rest: a poll of shared memory must know.
      markQueued();
      // Frames the kernel has all of are settled: drop them (they hold their bytes).
      const written = this.#bytes - s.writableLength;
      let settled = 0;
      while (settled < u.length - 1 && (u[settled] as { bytesEnd: number }).bytesEnd <= written)
        settled++;
      if (settled > 0) u.splice(0, settled);
    }
  }

  /** False (and the request failed, or the loss reported) when `m` cannot be serialized. */
  #serializable(m: unknown): boolean {
    try {
      frame([m]);
      return true;
    } catch (e) {
      const { r, o } = m as { r: number; o: string };
      const err = new NotCloneableError(
        `multiprocessing ${o}: a value cannot be serialized for the broker (${(e as Error).message}); send plain data, typed arrays, Maps/Sets, Errors or weft shared objects`,
        { cause: e },
      );
      const p = this.#pending.get(r);
      if (p !== undefined) {
        this.#pending.delete(r);
        this.#weak.delete(r);
        p.reject(err);
      } else process.emitWarning(err);
      return false;
    }
  }

  /**
   * @internal For a blocking call about to be relayed by the sync client: `ship` is what the
   * broker must run first as this thread's async messages (it travels with the blocking request),
   * and `after` how many messages the broker must have read from this socket before.
   *
   * Not connected: `ship` is what this client had queued, which leaves it. Connected: frames
   * still stuck in the socket's buffer (the broker reads slower than this thread writes) cannot
   * be waited for — this thread is about to park or keeps making blocking calls, and only its
   * event loop writes them — so `after` stops before them and their messages are shipped too
   * (`dup`): the socket delivers them again later, and the broker runs each once (broker.ts,
   * `runShipped`). Before, only the `create`s among them were shipped: a child that put a large
   * item and then looped on blocking calls kept its put, and any `set` after it, from the
   * broker for as long as the loop ran.
   *
   * `early`: for a post nobody waits for (`shipStuck`) while not connected. The thread goes on,
   * and what it sends next must not overtake what is shipped; so the shipped messages also stay
   * for the socket, as the messages that follow its hello (`#shippedEarly`; the broker runs each
   * once, `dup`). The first such shipment stands a no-op in for the hello (message 1), so that
   * the broker runs it without waiting for the socket.
   */
  syncPrelude(early = false): { after: number; ship: unknown[]; dup: boolean } {
    this.#runBeforeSend();
    if (early && !this.#connected && !this.#failed) {
      const ship = this.#out;
      this.#out = [];
      const done = this.#shippedEarly.length;
      this.#shippedEarly.push(...ship);
      if (done > 0) return { after: 1 + done, ship, dup: true };
      return { after: 0, ship: [{ r: -1, o: 'ping-never-fails', a: [] }, ...ship], dup: true };
    }
    if (!this.#connected || this.#failed) {
      const ship = this.#out;
      this.#out = [];
      return { after: this.#sent, ship, dup: false };
    }
    this.#flush();
    const u = this.#stuckFrames();
    const first = u[0];
    if (first === undefined) return { after: this.#sent, ship: [], dup: false };
    // Messages numbered from `from` on; the ones before it went with an earlier blocking call
    // (the broker ran them then), so each goes once however long the frames stay stuck.
    const from = Math.max(first.sentEnd - first.count + 1, this.#shippedThrough + 1);
    const ship: unknown[] = [];
    for (const f of u) {
      const start = f.sentEnd - f.count + 1;
      if (from - start >= f.count) continue;
      const ms = messagesOf(f.f);
      for (let i = Math.max(0, from - start); i < f.count; i++) ship.push(ms[i]);
    }
    this.#shippedThrough = this.#sent;
    return { after: from - 1, ship, dup: true };
  }

  /** The frames the socket has not wholly handed to the kernel, oldest first. */
  #stuckFrames(): WrittenFrame[] {
    const s = this.#socket as Socket | RawSocket;
    const written = this.#bytes - s.writableLength;
    const u = this.#unsettled;
    let settled = 0;
    while (settled < u.length && (u[settled] as { bytesEnd: number }).bytesEnd <= written)
      settled++;
    u.splice(0, settled);
    return u;
  }

  /**
   * @internal Before this thread parks (shm/wait.ts, via broker-sync.ts): writes what it queued.
   * False when that does not get it all to the kernel (not connected yet, or frames stuck in the
   * socket's buffer, which only this thread's event loop would write): the caller ships it with
   * a blocking ping instead.
   */
  _flushNow(): boolean {
    if (this.#failed) return true;
    if (!this.#connected) return this.#out.length === 0;
    if (this.#out.length > 0) this.#flush();
    return !this.#stuckUnshipped();
  }

  /**
   * @internal For a read of shared memory a program may poll (unshipped.ts): what this thread
   * queued goes now, without this thread waiting for its event loop or for the broker. Written
   * to the socket when it can take it; otherwise (the connection not made yet, frames the kernel
   * has not taken) through the sync client thread, which writes it while this thread goes on
   * (`shipStuck`, as `post` does for a release): the broker runs each message once, in order.
   */
  _shipQueued(): void {
    if (this.#failed) {
      setUnshipped(0);
      return;
    }
    if (this.#inHooks) {
      setUnshipped(POLL_READS);
      return;
    }
    if (!this.#connected) {
      const s = this.#socket;
      if (s instanceof RawSocket && s.fd >= 0 && !s.destroyed) this.#onConnect();
      else if (this.#out.length > 0) shipStuck?.();
    } else if (this.#out.length > 0) this.#flush(true);
    if (this.#stuckUnshipped()) shipStuck?.();
    // Left over only when no way worked (no sync client): tried again after as many reads.
    setUnshipped(this.#out.length > 0 || this.#stuckUnshipped() ? POLL_READS : 0);
  }

  /**
   * Connected, with messages in frames the kernel has not taken that no blocking call has
   * shipped yet (see syncPrelude).
   */
  #stuckUnshipped(): boolean {
    if (!this.#connected || this.#failed || this.#unsettled.length === 0) return false;
    return this.#shippedThrough < this.#sent && this.#stuckFrames().length > 0;
  }

  /** Resolves once everything sent so far has been handed to the socket (a child before exit). */
  drain(): Promise<void> {
    if (this.#failed) return Promise.resolve();
    // Written within this call, with everything queued: a caller about to compute synchronously
    // (no turn ends meanwhile) has sent its puts before it starts.
    const done = this.request('ping-never-fails', undefined, []);
    if (this.#connected && !this.#inHooks) this.#flush(true);
    return done.then(
      () => undefined,
      () => undefined,
    );
  }

  /** A fire-and-forget operation (no reply). */
  post(o: string, id: string | undefined, a: unknown[]): void {
    if (this.#failed) throw this.#failed;
    assertCloneable(a, `multiprocessing ${o}`);
    const atOnce = AT_ONCE.has(o);
    this.#send({ r: -1, o, id, a }, atOnce);
    if (!atOnce || this.#inHooks) return;
    // Not connected yet, it would wait for 'connect', which only a turn of the event loop
    // reports: a raw socket whose connect(2) has completed is used now; otherwise what is queued
    // goes through the sync client, which connects on its own thread (see syncPrelude).
    if (!this.#connected) {
      const s = this.#socket;
      if (s instanceof RawSocket && s.fd >= 0 && !s.destroyed) this.#onConnect();
      else if (!this.#failed) {
        shipStuck?.();
        return;
      }
    }
    // Written behind frames the kernel has not taken, it would wait for this thread's event loop,
    // which synchronous work after it (a loop on shared memory) may hold up for good while
    // another process waits for it: those frames and it also go through this thread's sync
    // client, which writes them at once without this thread waiting (see syncPrelude).
    if (this.#stuckUnshipped()) shipStuck?.();
  }

  /** `taskDone` for `n` items; consecutive ones for one queue travel as one message. */
  postTaskDone(id: string, n: number): void {
    if (this.#failed) throw this.#failed;
    const last = this.#out[this.#out.length - 1] as
      | { o?: string; id?: string; a?: number[] }
      | undefined;
    if (last !== undefined && last.o === 'taskDone' && last.id === id) {
      (last.a as number[])[0] = ((last.a as number[])[0] as number) + n;
      return;
    }
    this.#send({ r: -1, o: 'taskDone', id, a: [n] });
  }

  /**
   * Appends `item` to an unbounded queue without waiting: consecutive puts to one queue travel
   * as one `putMany` message (order with every other message is kept: only the last message
   * is ever extended).
   */
  postPut(id: string, item: unknown): void {
    if (this.#failed) throw this.#failed;
    assertCloneable(item, 'multiprocessing put');
    const last = this.#out[this.#out.length - 1] as
      | { o?: string; id?: string; a?: unknown[] }
      | undefined;
    if (last !== undefined && last.o === 'putMany' && last.id === id) {
      const items = last.a as unknown[];
      if (items.length < PUT_BATCH) {
        items.push(item);
        return;
      }
      // A full batch goes out now, so that the consumer works while the producer still puts.
      if (this.#connected) this.#flush();
    }
    this.#send({ r: -1, o: 'putMany', id, a: [item] });
  }

  /**
   * An operation answered by the broker. With `signal`, an abort withdraws the waiting request;
   * `onLateGrant` receives a value that was granted before the withdrawal arrived (so the caller
   * can give it back).
   */
  request(
    o: string,
    id: string | undefined,
    a: unknown[],
    signal?: AbortSignal | null,
    onLateGrant?: (v: unknown) => void,
    control?: Withdrawable,
  ): Promise<unknown> {
    return this.#request(o, id, a, signal, onLateGrant, control, false, false);
  }

  /**
   * `request` for a wait whose withdrawal does work at the broker before it is over: an aborted
   * Condition.wait re-acquires the lock there (Python's wait re-acquires it even when
   * cancelled), a Barrier party breaks the barrier. An abort rejects with the signal's reason
   * once the broker has answered the withdrawal — so the caller holds the lock again when it
   * sees the rejection — and a value the broker granted before the withdrawal reached it goes to
   * `onLateGrant` first. Another error the broker answered meanwhile is the rejection instead.
   */
  requestSettled(
    o: string,
    id: string | undefined,
    a: unknown[],
    signal: AbortSignal | null,
    onLateGrant?: (v: unknown) => void,
  ): Promise<unknown> {
    return this.#request(o, id, a, signal, onLateGrant, undefined, false, true);
  }

  /**
   * `request` for a Semaphore's acquire: with a signal, a permit granted before the withdrawal
   * reached the broker is given back there, by the broker (broker.ts, 'cancel'), not by this
   * client, which may be killed before it could send it; the request's last argument says how
   * many such grants this client has taken (`#grantsSeen`), so that the broker can forget those.
   */
  requestTakenBack(
    o: string,
    id: string | undefined,
    a: unknown[],
    signal: AbortSignal | null | undefined,
  ): Promise<unknown> {
    return this.#request(o, id, a, signal, undefined, undefined, false, false, true);
  }

  /**
   * A request whose answer may never come, withdrawn with `control` when no longer wanted: unlike
   * `request`, it does not keep the process alive while it waits.
   */
  watch(o: string, id: string | undefined, a: unknown[], control: Withdrawable): Promise<unknown> {
    return this.#request(o, id, a, null, undefined, control, true, false);
  }

  #request(
    o: string,
    id: string | undefined,
    a: unknown[],
    signal: AbortSignal | null | undefined,
    onLateGrant: ((v: unknown) => void) | undefined,
    control: Withdrawable | undefined,
    weak: boolean,
    settled: boolean,
    takenBack = false,
  ): Promise<unknown> {
    if (this.#failed) return Promise.reject(this.#failed);
    if (signal?.aborted) return Promise.reject(signal.reason);
    // Only a request that can be withdrawn leaves the broker something to take back.
    const counted = takenBack && (signal != null || control !== undefined);
    if (counted) a = [...a, this.#grantsSeen];
    try {
      assertCloneable(a, `multiprocessing ${o}`);
    } catch (e) {
      return Promise.reject(e);
    }
    const r = this.#next++;
    const p = new Promise<unknown>((resolve, reject) => {
      this.#pending.set(r, { resolve, reject });
    });
    if (weak) this.#weak.add(r);
    const m = { r, o, id, a };
    this.#send(m);
    this.#updateRef();
    if (!signal && !control) return p;
    return new Promise((resolve, reject) => {
      let aborted = false;
      let why: unknown;
      // Answered and taken: a withdrawal now has nothing to withdraw (and a counted grant must
      // not be given back by the broker after this client took it).
      let answered = false;
      const withdraw = (reason: unknown): void => {
        if (aborted || answered) return;
        aborted = true;
        // Not written yet (queued for the end of the turn, or the broker is still starting): it
        // never reaches the broker, and the wait ends now — a settled one too, whose broker
        // would otherwise have to be up to answer the withdrawal.
        const k = this.#out.indexOf(m);
        if (k >= 0) {
          this.#out.splice(k, 1);
          this.#pending.delete(r);
          this.#weak.delete(r);
          this.#updateRef();
          signal?.removeEventListener('abort', onAbort);
          reject(reason);
          // Nothing reached the broker: nothing can come late.
          if (control) markSettled(control);
          return;
        }
        this.#send({ r: -1, o: 'cancel', a: [r] });
        if (settled) why = reason;
        else reject(reason);
      };
      const onAbort = (): void => withdraw(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (control) control.withdraw = withdraw;
      p.then(
        (v) => {
          answered = true;
          signal?.removeEventListener('abort', onAbort);
          // Taken here, in the order granted (replies, and so these callbacks, keep the broker's
          // order): from now on no withdrawal of this request can be sent.
          if (counted && v === true) this.#grantsSeen++;
          if (!aborted) resolve(v);
          else if (!settled) {
            try {
              onLateGrant?.(v);
            } finally {
              if (control) markSettled(control);
            }
          } else {
            try {
              onLateGrant?.(v);
            } finally {
              reject(why);
            }
          }
        },
        (e) => {
          answered = true;
          signal?.removeEventListener('abort', onAbort);
          if (!aborted) reject(e);
          else if (settled) reject(e === kCancelled ? why : e);
          else if (control) markSettled(control);
        },
      );
    });
  }
}

/**
 * Filled in by `request`: withdraws it as an aborted signal would (the request rejects with
 * `reason`; a value granted meanwhile goes to `onLateGrant`). For callers that withdraw for
 * reasons of their own, without an AbortController per request.
 */
export interface Withdrawable {
  withdraw: (reason: unknown) => void;
  /**
   * Set by `request` once a request withdrawn after it reached the broker is settled there (its
   * late value given to `onLateGrant`, or the broker's word that it was withdrawn in time), or at
   * once when it never reached the broker; `onSettled`, if the caller set it by then, is called.
   * Not for `requestSettled`, which waits for that itself. Flags, not a callback per request: a
   * caller that wants to know sets `onSettled` only once its request was withdrawn.
   */
  settled?: boolean;
  onSettled?: () => void;
}

function markSettled(control: Withdrawable): void {
  control.settled = true;
  control.onSettled?.();
}

/** The rejection of a request withdrawn by `cancel` (internal: the caller rejects with its reason). */
const kCancelled = Symbol('weft.broker.cancelled');

const KEY = Symbol.for('weft.brokerClient');
const holder = globalThis as unknown as { [KEY]?: BrokerClient };

setShip(() => holder[KEY]?._shipQueued());

/** This thread's connection to the broker (started, and the broker too, on first use). */
export function broker(): BrokerClient {
  holder[KEY] ??= new BrokerClient();
  return holder[KEY];
}

/** Whether this thread has talked to the broker (so a child must flush before exit). */
export function hasBroker(): boolean {
  return holder[KEY] !== undefined;
}
