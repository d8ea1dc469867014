/**
 * Blocking calls to the broker: `brokerSync().request(…)` parks the calling thread until the
 * broker answers — what `qsize()`, `putNowait` on a bounded queue, `acquireSync` and the other
 * synchronous methods of weft/multiprocessing stand on. Any thread of any process can use it:
 * the root's main thread, a child's, a worker thread's.
 *
 *   thread T ── async client (broker-client.ts) ─────────── socket 'a' ──┐
 *      │ request(): ship + after from the async client                   ├─▶ broker: session T
 *      ├─ direct: T's own socket (sync-direct.ts) ────────── socket 's' ─┤
 *      └─ or mailbox (sync-mailbox.ts) ─▶ sync client thread ─ socket 's' ┘
 *
 * Implementation notes
 * - Two ways, one per thread: T writes and reads its own socket where the io addon can (two
 *   threads woken per call: the broker, T); otherwise (no addon, an older build, a socket path
 *   too long for a sockaddr_un, WEFT_SYNC_CLIENT=thread) a sync client thread relays (four).
 *   A thread whose first act is a `shipStuck` while the broker is not listening yet (a root's
 *   broker thread starting) takes the client thread, which connects on its own while T goes on.
 * - Either way the socket never keeps a process alive and closes when T ends (the client
 *   thread dies with T; the addon closes T's own); the broker ends the session only when both
 *   of T's sockets are closed.
 * - A sync client thread is started on the first call (the caller parks meanwhile) and unref'd.
 * - Ordering: before relaying, T's async client hands over what it has not written and how many
 *   messages it has written (`syncPrelude`); the broker runs the blocking request after those.
 *   So `q.put(x)` then `q.qsize()` counts `x`, and an object created a line earlier exists.
 * - The async methods never come here: their fast paths stay on the async client. One
 *   exception: a `release`/`set`/… written behind frames the kernel has not taken goes with
 *   those frames' messages through this client at once, as a request nobody waits for
 *   (`shipStuck`, r −1: no reply), so that synchronous work after it cannot hold it back; so does
 *   one made while that socket is not connected yet (broker-client.ts, `post`).
 * - Cost: a blocking call is a broker round trip (plus a thread hop through a sync client
 *   thread), tens of microseconds; with a client thread, the first call also starts it.
 */
import { MessageChannel, type MessagePort, threadId, Worker } from 'node:worker_threads';
import { WeftError } from '../errors.js';
import { assertCloneable, decodeError, type EncodedError } from '../serialize.js';
import { beforeThreadParks } from '../shm/wait.js';
import { broker, CONNECT_RETRY_MS, hasBroker, sessionName, setShipStuck } from './broker-client.js';
import type { Reply, Request } from './broker-wire.js';
import { announced } from './lock-slab.js';
import { type SyncClientData, type SyncFailure, syncClientThread } from './sync-client-thread.js';
import { type DirectIo, DirectSyncSocket, directIo } from './sync-direct.js';
import { call, crashed, LAYOUT, MAILBOX_BYTES } from './sync-mailbox.js';

const source = [
  // esbuild (tsx) keeps function names with a `__name` helper the worker does not have.
  'const __name = (f) => f;',
  'const wt = require("node:worker_threads");',
  `(${syncClientThread.toString()})(wt, require("node:net"), require("node:v8"), wt.workerData);`,
].join('\n');

/** How a thread's blocking requests reach the broker: one of two ways (see the notes above). */
interface SyncWay {
  readonly dead: boolean;
  /** Sends `m` (r −1) without waiting; false when it could not be sent now (nothing was). */
  post(m: Request): boolean;
  /** Sends `m` and parks this thread until its reply (or a failure to reach the broker). */
  call(m: Request): Reply | SyncFailure;
}

/** The calling thread's own socket (sync-direct.ts). */
class DirectWay implements SyncWay {
  readonly #s: DirectSyncSocket;
  constructor(b: DirectIo, path: string) {
    this.#s = new DirectSyncSocket(b, path, helloOf(), CONNECT_RETRY_MS);
  }
  get dead(): boolean {
    return false;
  }
  post(m: Request): boolean {
    return this.#s.post(m);
  }
  call(m: Request): Reply | SyncFailure {
    return this.#s.call(m);
  }
}

/** A sync client thread (sync-client-thread.ts), reached through the mailbox. */
class ThreadWay implements SyncWay {
  readonly #a: Int32Array;
  readonly #port: MessagePort;
  readonly #worker: Worker;
  #dead: Error | null = null;

  constructor(path: string) {
    const sab = new SharedArrayBuffer(MAILBOX_BYTES);
    this.#a = new Int32Array(sab);
    const data: SyncClientData = {
      sab,
      layout: LAYOUT,
      path,
      hello: helloOf(),
      // As long as the async client's: a root's broker thread still starting is the same wait
      // (10 s here failed a root's first getSync on a loaded machine).
      retryMs: CONNECT_RETRY_MS,
    };
    this.#worker = new Worker(source, {
      eval: true,
      workerData: data,
      execArgv: [],
      name: 'weft-broker-sync',
    });
    this.#worker.unref();
    // A Worker's 'error' without a listener would throw in this thread; the next call reports it.
    this.#worker.on('error', (e) => {
      this.#dead = e;
    });
    this.#worker.on('exit', () => {
      this.#dead ??= new Error('The multiprocessing sync client thread exited');
    });
    const { port1, port2 } = new MessageChannel();
    this.#port = port1;
    this.#worker.postMessage({ port: port2 }, [port2]);
  }

  get dead(): boolean {
    return this.#dead !== null || crashed(this.#a);
  }

  post(m: Request): boolean {
    if (this.#dead === null) this.#port.postMessage(m);
    return true;
  }

  call(m: Request): Reply | SyncFailure {
    const { r } = m;
    return call(this.#a, this.#port, m, (x) => (x as { r?: unknown }).r === r) as
      | Reply
      | SyncFailure;
  }
}

/** The hello of a thread's sync connection: its session, role 's'. */
function helloOf(): [number, string, string, 's', number] {
  return [process.pid, sessionName(), `${process.pid}:${threadId}`, 's', broker().slabSession];
}

export class SyncBrokerClient {
  #way: SyncWay;
  readonly #path: string;
  #next = 1;
  /** `shipStuck` posted since the last answered request (see `confirm`). */
  #unconfirmed = false;

  constructor(path: string) {
    this.#path = path;
    const b = directIo(path);
    this.#way = b === null ? new ThreadWay(path) : new DirectWay(b, path);
  }

  /** @internal Which way this thread's blocking calls go (tests). */
  get _way(): 'direct' | 'thread' {
    return this.#way instanceof DirectWay ? 'direct' : 'thread';
  }

  /** Whether this client's thread has died (the next blocking call starts another). */
  get dead(): boolean {
    return this.#way.dead;
  }

  /**
   * Sends what this thread's socket has not handed to the kernel through this client, without
   * waiting for the broker (a `release` or `set` written behind it, see broker-client.ts's
   * `post`): the broker runs each of those messages once, in the thread's order, whichever way
   * reaches it first, and a later blocking call of this thread comes after it on this client.
   * Its own socket not connected yet and the broker not listening yet (starting), the thread
   * gets a sync client thread, which connects on its own while this thread goes on.
   */
  shipStuck(): void {
    if (this.#way.dead) return;
    const { after, ship, dup } = broker().syncPrelude(true);
    if (ship.length === 0) return;
    const m: Request = { r: -1, o: 'ping-never-fails', a: [], after, ship: ship as Request[], dup };
    if (!this.#way.post(m)) {
      this.#way = new ThreadWay(this.#path);
      this.#way.post(m);
    }
    this.#unconfirmed = true;
  }

  /**
   * At exit (broker-client.ts): when `shipStuck` posted since the last answered request, a
   * blocking ping, so that this client's connection has delivered those shipments before the
   * process ends; true when it answered. Otherwise the connection, made late, may be read after
   * the async socket closed, as a new session that runs them again.
   */
  confirm(): boolean {
    if (!this.#unconfirmed || this.dead) return false;
    try {
      this.request('ping-never-fails', undefined, []);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Runs operation `o` on object `id` in the broker, parking this thread until it answers.
   * @throws the broker's error for the operation (`Empty`, `Full`, … by name), or an Error when
   * the broker is unreachable.
   */
  request(o: string, id: string | undefined, a: unknown[]): unknown {
    assertCloneable(a, `multiprocessing ${o}`);
    const { after, ship, dup } = broker().syncPrelude();
    const reply = this.#way.call({
      r: this.#next++,
      o,
      id,
      a,
      after,
      ship: ship as Request[],
      dup,
    });
    if ('fail' in reply) throw new WeftError(reply.fail, 'ERR_WEFT_BROKER_UNREACHABLE');
    // Answered after every shipment posted before it (one connection, in order).
    this.#unconfirmed = false;
    // Answered: the broker has this thread's hello (lock-slab.ts).
    announced();
    if (reply.e !== undefined) throw decodeError(reply.e as EncodedError);
    return reply.v;
  }
}

const KEY = Symbol.for('weft.brokerSyncClient');
const holder = globalThis as unknown as { [KEY]?: SyncBrokerClient };

/** A blocking ping: ships what this thread's async client could not get to the broker. */
function shipQueued(): void {
  try {
    brokerSync().request('ping-never-fails', undefined, []);
  } catch {
    // an unreachable broker fails the thread's next call to it, with its reason
  }
}

// A thread about to park in a blocking wait (a Thread's joinSync, a Lock's acquireSync) first
// sends what it queued for the broker: parked, its event loop would not (a Pipe's send then
// joinSync would leave the reading thread waiting for ever). Not connected yet (a broker just
// started), or frames stuck in the socket's buffer, a blocking ping ships it.
beforeThreadParks(() => {
  if (!hasBroker() || broker()._flushNow()) return;
  shipQueued();
});
setShipStuck(
  () => brokerSync().shipStuck(),
  () => holder[KEY]?.confirm() === true,
);

/** This thread's blocking path to the broker (its sync client thread starts on first use). */
export function brokerSync(): SyncBrokerClient {
  let c = holder[KEY];
  if (c === undefined || c.dead) {
    c = new SyncBrokerClient(broker().path);
    holder[KEY] = c;
  }
  return c;
}
