/**
 * A thread's blocking broker calls on a socket the thread itself writes and reads (broker-sync.ts
 * chooses it where it can): the request frame goes out with send(2), and the thread parks in
 * poll(2) inside the io addon (native/io.c) until the reply frame is there.
 *
 *   thread T ── request(): frame ─▶ send ── socket 's' ──▶ broker: session T
 *            ◀─ reply ◀─ recv (parked in poll) ◀───────────┘
 *
 * Why: relayed through a sync client thread (sync-client-thread.ts, through sync-mailbox.ts) a
 * call woke four threads (that thread, the broker, that thread again, the caller); here two
 * (the broker, the caller).
 *
 * Implementation notes
 * - Where: the io addon with connectUnixOwned, closeOwned and waitReady, and a socket path that
 *   fits a sockaddr_un. Otherwise (no addon: it is optional; an older build; a long TMPDIR), or
 *   with WEFT_SYNC_CLIENT=thread in the environment (for tests), the sync client thread.
 * - The hello travels with the first request, as T's session (owner `pid:threadId`, role 's',
 *   slab number): what a call takes belongs to T, whichever socket gives it back.
 * - Connecting: a Unix connect(2) completes or fails at once. A broker not listening yet
 *   (ENOENT, ECONNREFUSED: a root's broker thread still starting) or with a full backlog
 *   (EAGAIN) is tried again, the thread parked in between, until `retryMs` after this client was
 *   made. `post` does not wait for it (the thread goes on): it says false, and broker-sync.ts
 *   hands the thread to a sync client thread, which connects on its own.
 * - A thread parked in poll(2) is not woken by Worker.terminate() (one parked in Atomics.wait
 *   is): every wait here lasts at most SLICE_MS, and back in JavaScript between two the
 *   termination takes effect; a blocking call waits as long as it must, slice after slice.
 * - The descriptor is not libuv's (it never keeps a process alive) and the addon closes it when
 *   the thread ends (connectUnixOwned): the broker sees the close and, once the thread's async
 *   socket is closed too, ends the session and frees what it held.
 * - Failure is final: a broker gone (EOF, a send refused), or a frame of ours it could not read
 *   (its `unreadable` notice, after which it closes the connection), fails this call and every
 *   later one with the reason, at once: never a wait for a broker that is gone.
 * - A reply this thread cannot read (nested deeper than its stack): the frame's length still
 *   says where the next begins, and the front of the frame says whose reply it is
 *   (`requestNumber`): another request's alone, it is passed over and the call waits for its
 *   own; otherwise (this call's, a frame of several, a number not read) the call fails with
 *   ERR_WEFT_UNREADABLE_MESSAGE and the connection goes on.
 * - Timeouts run in the broker; nothing here times out.
 */
import { getSystemErrorName } from 'node:util';
import { type IoBinding, io } from '../../socket/native-io.js';
import { parkSync } from '../atomics.js';
import { describeError, RuntimeError } from '../errors.js';
import { requestNumber } from '../v8-format.js';
import {
  type FrameSink,
  frame,
  frameNeed,
  type Reply,
  type Request,
  splitFrames,
} from './broker-wire.js';
import type { SyncFailure } from './sync-client-thread.js';

const ENOENT = -2;
const EAGAIN = -11;
const ECONNREFUSED = -111;
const EPIPE = -32;
const ECONNRESET = -104;
const WRITE = 4;
/**
 * Trade-off: the longest single park in poll(2). A Worker.terminate() of a parked thread takes
 * effect only when it is back in JavaScript, so this bounds how long a terminate (or a process
 * exit, which terminates its threads) waits; a shorter one costs a parked thread more wake-ups.
 */
const SLICE_MS = 50;
/** Tuning: how long a connect refused by a broker still starting waits before the next try. */
const RETRY_PAUSE_MS = 20;
/** Tuning: the read buffer a client keeps; a larger frame gets a buffer of its own size. */
const READ_BYTES = 64 * 1024;
/** sun_path's 108 bytes less the NUL (broker-wire.ts, SUN_PATH_MAX). */
const SUN_PATH_MAX = 107;

export interface DirectIo extends IoBinding {
  connectUnixOwned(path: string): number;
  closeOwned(fd: number): number;
  waitReady(fd: number, events: number, timeoutMs: number): number;
}

/** The addon, when it can carry a thread's blocking calls to the broker at `path`; else null. */
export function directIo(path: string): DirectIo | null {
  if (process.env.WEFT_SYNC_CLIENT === 'thread' || io === null) return null;
  if (
    typeof io.connectUnixOwned !== 'function' ||
    typeof io.closeOwned !== 'function' ||
    typeof io.waitReady !== 'function'
  )
    return null;
  return Buffer.byteLength(path) <= SUN_PATH_MAX ? (io as DirectIo) : null;
}

function errnoName(r: number): string {
  try {
    return getSystemErrorName(r);
  } catch {
    return `E${-r}`;
  }
}

export class DirectSyncSocket {
  readonly #io: DirectIo;
  readonly #path: string;
  readonly #hello: Request;
  readonly #retryMs: number;
  readonly #started = Date.now();
  #fd = -1;
  #helloSent = false;
  #failed: string | null = null;
  #busy = false;
  #buf = Buffer.allocUnsafe(READ_BYTES);
  /** Bytes of `#buf` read and not yet taken: [#at, #have). */
  #at = 0;
  #have = 0;
  /** What #read waits for (the request's number) and what its walk of the frames found. */
  #want = 0;
  #reply: Reply | null = null;
  #unreadable: string | null = null;
  readonly #sink: FrameSink = {
    messages: (ms) => this.#messages(ms as Reply[]),
    unreadable: (e, body) => this.#unreadableFrame(e, body),
  };
  /** Where a connect refused by a starting broker parks between tries. */
  readonly #nap = new Int32Array(new SharedArrayBuffer(4));

  constructor(b: DirectIo, path: string, hello: unknown[], retryMs: number) {
    this.#io = b;
    this.#path = path;
    this.#hello = { r: -1, o: 'hello', a: hello };
    this.#retryMs = retryMs;
  }

  /** The connection failed for good (every call is answered with its reason). */
  get failed(): string | null {
    return this.#failed;
  }

  /**
   * Writes `m` (a request nobody waits for, r −1) without waiting for the broker. False when
   * not connected and the broker cannot be reached yet (it may be starting): nothing was sent.
   */
  post(m: Request): boolean {
    if (this.#failed !== null) return true;
    if (this.#fd < 0 && !this.#connect(false)) return this.#failed !== null;
    this.#send(m);
    return true;
  }

  /** Sends request `m` and parks this thread until its reply (or the connection's failure). */
  call(m: Request): Reply | SyncFailure {
    if (this.#busy) {
      throw new RuntimeError(
        'A blocking multiprocessing call was made while another one of this thread waits for the broker: one at a time per thread',
        'ERR_WEFT_SYNC_REENTERED',
      );
    }
    this.#busy = true;
    try {
      if (this.#failed === null && (this.#fd >= 0 || this.#connect(true)) && this.#send(m)) {
        const reply = this.#read(m.r);
        if (reply !== null) return reply;
      }
      return { r: m.r, fail: this.#failed as string };
    } finally {
      this.#busy = false;
    }
  }

  /** Connects, parked between tries while the broker is not listening yet if `wait`. */
  #connect(wait: boolean): boolean {
    for (;;) {
      const fd = this.#io.connectUnixOwned(this.#path);
      if (fd >= 0) {
        this.#fd = fd;
        return true;
      }
      const starting = fd === ENOENT || fd === ECONNREFUSED || fd === EAGAIN;
      if (starting && Date.now() - this.#started < this.#retryMs) {
        if (!wait) return false;
        parkSync(this.#nap, 0, 0, RETRY_PAUSE_MS);
        continue;
      }
      this.#fail(
        `The multiprocessing broker at ${this.#path} is unreachable: connect ${errnoName(fd)} ${this.#path}`,
      );
      return false;
    }
  }

  /** Writes `m` (after the hello, the first time) whole; false when the connection failed. */
  #send(m: Request): boolean {
    const f = frame(this.#helloSent ? [m] : [this.#hello, m]);
    this.#helloSent = true;
    let off = 0;
    while (off < f.length) {
      const k = this.#io.send(this.#fd, f, off, f.length - off);
      if (k > 0) {
        off += k;
        continue;
      }
      if (k === EAGAIN) {
        const w = this.#io.waitReady(this.#fd, WRITE, SLICE_MS);
        if (w >= 0) continue;
        this.#fail(`The connection to the multiprocessing broker broke: poll ${errnoName(w)}`);
        return false;
      }
      this.#fail(
        k === EPIPE || k === ECONNRESET
          ? 'The multiprocessing broker closed the connection (its process ended)'
          : `The connection to the multiprocessing broker broke: write ${errnoName(k)}`,
      );
      return false;
    }
    return true;
  }

  /** The reply to request `r`; null when the connection failed meanwhile. */
  #read(r: number): Reply | null {
    this.#want = r;
    for (;;) {
      this.#at = splitFrames(this.#buf, this.#at, this.#have, true, this.#sink);
      const reply = this.#reply;
      if (reply !== null) {
        this.#reply = null;
        return reply;
      }
      if (this.#failed !== null) return null;
      const unreadable = this.#unreadable;
      if (unreadable !== null) {
        this.#unreadable = null;
        throw new RuntimeError(
          `A blocking multiprocessing call failed: the broker's reply could not be read in this thread (${unreadable}); store flatter data, or give the thread a larger stack (threading.stackSize())`,
          'ERR_WEFT_UNREADABLE_MESSAGE',
        );
      }
      this.#makeRoom();
      const k = this.#io.recvBlocking(
        this.#fd,
        this.#buf,
        this.#have,
        this.#buf.length - this.#have,
        SLICE_MS,
      );
      if (k > 0) this.#have += k;
      else if (k === 0 || k === ECONNRESET) {
        this.#fail('The multiprocessing broker closed the connection (its process ended)');
        return null;
      } else if (k !== EAGAIN) {
        this.#fail(`The connection to the multiprocessing broker broke: read ${errnoName(k)}`);
        return null;
      }
    }
  }

  /**
   * A frame's messages, as #read's walk hands them over: false once the call is settled. What is
   * not a reply is passed over: a throw here would leave #at before the frame, and every later
   * call would meet it again.
   */
  #messages(ms: Reply[]): boolean {
    if (!Array.isArray(ms)) return true;
    for (const m of ms) {
      if (typeof m !== 'object' || m === null) continue;
      if (m.r === 0 && typeof m.unreadable === 'string') {
        this.#fail(m.unreadable);
        return false;
      }
      if (m.r === this.#want) {
        this.#reply = m;
        return false;
      }
    }
    return true;
  }

  /**
   * A frame this thread could not read. Another request's reply alone (its number says so) is
   * passed over: this call's reply is still to come. Any other (this call's, several replies,
   * a number that cannot be read) settles the call with the error: it may have held the reply,
   * and no other would come.
   */
  #unreadableFrame(e: unknown, body: Uint8Array): boolean {
    const r = requestNumber(body);
    if (r !== null && r !== this.#want) return true;
    this.#unreadable = describeError(e);
    return false;
  }

  /** Room after #have for the rest of the frame being read (at least one byte). */
  #makeRoom(): void {
    const rest = this.#have - this.#at;
    if (rest === 0) {
      this.#at = 0;
      this.#have = 0;
      // A large frame's buffer goes with it.
      if (this.#buf.length > READ_BYTES) this.#buf = Buffer.allocUnsafe(READ_BYTES);
      return;
    }
    const need = frameNeed(this.#buf, this.#at, this.#have);
    if (this.#at + need <= this.#buf.length) return;
    const to = need <= this.#buf.length ? this.#buf : Buffer.allocUnsafe(need);
    this.#buf.copy(to, 0, this.#at, this.#have);
    this.#buf = to;
    this.#at = 0;
    this.#have = rest;
  }

  /** Closes the connection (every later call fails). */
  close(): void {
    this.#fail('This blocking connection to the multiprocessing broker was closed');
  }

  #fail(why: string): void {
    if (this.#failed !== null) return;
    this.#failed = why;
    if (this.#fd >= 0) {
      this.#io.closeOwned(this.#fd);
      this.#fd = -1;
    }
  }
}
