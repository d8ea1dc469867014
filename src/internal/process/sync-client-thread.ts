/**
 * The sync client thread: a tiny worker that a thread starts the first time it makes a blocking
 * broker call (broker-sync.ts). It owns a broker connection of its own, and relays: each request
 * the parked caller posts on the mailbox port (sync-mailbox.ts) goes to the broker; the answer
 * goes back on the port and wakes the caller.
 *
 *   caller (parked) ◀─ port + SAB ─▶ this thread ─ socket (role 's') ─▶ broker (broker.ts)
 *
 * Implementation notes
 * - The function below is the thread's whole program: its source is evaluated in the worker,
 *   so it uses nothing from this module's scope and gets the Node modules it needs as
 *   arguments. No TypeScript loader, no weft module: the thread starts as fast as a Worker can,
 *   which matters because the caller is parked meanwhile. For the same reason its two Atomics
 *   calls are its own rather than src/internal/atomics.ts's.
 * - It says hello as the caller's session (owner `pid:threadId`, role 's'), so what it takes
 *   (a lock, a permit, an item) belongs to the caller, whichever socket gives it back.
 * - Requests wait until the socket is connected; a broker that is still starting (the root's
 *   first call) is retried, as the async client does. Once the connection fails, every request
 *   is answered with that failure: a caller never waits for a broker that is gone.
 * - Timeouts run in the broker; nothing here times out.
 * - A request this thread cannot read ('messageerror': arguments nested deeper than its stack
 *   can read, sent by a thread with a larger one) is answered with an `UnreadableNotice` (r 0):
 *   its r is gone with it, but it is the parked caller's (see sync-mailbox.ts, `call`).
 */
import type * as Net from 'node:net';
import type * as V8 from 'node:v8';
import type * as WorkerThreads from 'node:worker_threads';
import type { MailboxLayout } from './sync-mailbox.js';

export interface SyncClientData {
  sab: SharedArrayBuffer;
  layout: MailboxLayout;
  path: string;
  /** pid, session name, owner, role, number in the lock slab (0: none). */
  hello: [number, string, string, 's', number];
  /** How long a broker that refuses connections is retried (it may be starting). */
  retryMs: number;
}

/** What the thread answers for a request it could not read (its r is unknown). */
export interface UnreadableNotice {
  r: 0;
  unreadable: string;
}

/** What the thread answers when it cannot reach the broker. */
export interface SyncFailure {
  r: number;
  fail: string;
}

export function syncClientThread(
  wt: typeof WorkerThreads,
  net: typeof Net,
  v8: typeof V8,
  data: SyncClientData,
): void {
  const a = new Int32Array(data.sab);
  const { SEQ, STATE, RUNNING, CRASHED } = data.layout;
  let port: WorkerThreads.MessagePort | null = null;
  let socket: Net.Socket | null = null;
  let connected = false;
  let failed: string | null = null;
  const waiting: unknown[] = [];
  const inFlight = new Set<number>();
  const started = Date.now();

  const wake = (): void => {
    Atomics.add(a, SEQ, 1);
    Atomics.notify(a, SEQ);
  };
  const reply = (m: unknown): void => {
    port?.postMessage(m);
    wake();
  };
  const frame = (ms: unknown[]): Buffer => {
    const body = v8.serialize(ms);
    const head = Buffer.allocUnsafe(4);
    head.writeUInt32LE(body.length, 0);
    return Buffer.concat([head, body]);
  };
  const fail = (why: string): void => {
    if (failed !== null) return;
    failed = why;
    // Every request not answered yet is in flight (those waiting for the connection too).
    waiting.length = 0;
    for (const r of inFlight) reply({ r, fail: why });
    inFlight.clear();
  };

  process.on('uncaughtException', () => {
    Atomics.store(a, STATE, CRASHED);
    wake();
  });

  // Frames as broker-wire.ts's FrameReader reads them: chunks joined once per frame.
  let chunks: Buffer[] = [];
  let size = 0;
  let need = 4;
  const onData = (chunk: Buffer): void => {
    chunks.push(chunk);
    size += chunk.length;
    if (size < need) return;
    const buf = chunks.length === 1 ? chunk : Buffer.concat(chunks, size);
    let at = 0;
    need = 4;
    while (buf.length - at >= 4) {
      const n = buf.readUInt32LE(at);
      if (buf.length - at - 4 < n) {
        need = 4 + n;
        break;
      }
      let ms: Array<{ r: number; unreadable?: string }>;
      try {
        ms = v8.deserialize(buf.subarray(at + 4, at + 4 + n)) as Array<{
          r: number;
          unreadable?: string;
        }>;
      } catch (e) {
        // Which replies it held is gone with it (see broker-wire.ts FrameReader): every request
        // in flight fails, and the connection ends, the broker freeing what it held.
        chunks = [];
        size = 0;
        fail(
          `a reply of the multiprocessing broker could not be read by this thread's sync client (${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}); its connection to the broker is closed: send flatter data`,
        );
        socket?.destroy();
        return;
      }
      at += 4 + n;
      for (const m of ms) {
        // The broker could not read a frame of this connection (broker-wire.ts): it closes it.
        if (m.r === 0 && typeof m.unreadable === 'string') fail(m.unreadable);
        else if (inFlight.delete(m.r)) reply(m);
      }
    }
    const rest = buf.subarray(at);
    chunks = rest.length === 0 ? [] : [rest];
    size = rest.length;
  };

  const connect = (): void => {
    const s = net.connect(data.path);
    socket = s;
    s.on('connect', () => {
      connected = true;
      s.write(frame([{ r: -1, o: 'hello', a: data.hello }, ...waiting.splice(0)]));
    });
    s.on('data', onData);
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (
        !connected &&
        (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') &&
        Date.now() - started < data.retryMs
      ) {
        s.destroy();
        setTimeout(connect, 20);
        return;
      }
      fail(`The multiprocessing broker at ${data.path} is unreachable: ${e.message}`);
    });
    s.on('close', () => {
      if (connected) fail('The multiprocessing broker closed the connection (its process ended)');
    });
  };

  wt.parentPort?.once('message', (m: { port: WorkerThreads.MessagePort }) => {
    port = m.port;
    port.on('messageerror', (e: Error) => {
      reply({ r: 0, unreadable: `${e?.name}: ${e?.message}` });
    });
    port.on('message', (req: { r: number }) => {
      // r < 0: sent without a reply awaited (broker-sync.ts, shipStuck).
      if (failed !== null) {
        if (req.r >= 0) reply({ r: req.r, fail: failed });
        return;
      }
      if (req.r >= 0) inFlight.add(req.r);
      if (connected) socket?.write(frame([req]));
      else waiting.push(req);
    });
    Atomics.store(a, STATE, RUNNING);
    connect();
  });
}
