/**
 * `Pipe()` and its `Connection` ends (Python's multiprocessing.connection.Connection).
 *
 * A direction of a pipe is a broker queue (queue.ts, `Queue._pipeDirection`). End-of-file is
 * Python's: `recv()` raises EOFError once the direction is empty and every handle of the other
 * end is closed — in every process that holds one. So the broker counts the handles of each end
 * (the count lives with the direction that end writes into):
 *
 *   Pipe() makes an end                  (the direction's 'create' names its creator) count = 1
 *   handle serialised (Process args, a queue item)       ── 'holdToken' ──────▶ count + 1 (token)
 *     … revived at the other side                         ── 'adopt' token ───▶ token → session
 *     … never revived (child died first, encode failed)   ── 'dropTokens' ────▶ count − 1
 *   close()                                               ── 'unhold' ────────▶ count − 1
 *   its process or thread ends                            (broker: session end) count − its holds
 *
 * Messages of different threads reach the broker in any order (a thread sends its own once a
 * turn, or before it parks), so each step is counted whichever comes first: the first 'create'
 * of a direction — the creator's, or a reader's revival — counts the creator's handle; an
 * 'adopt' before its 'holdToken' counts the handle, and the late 'holdToken' then does not.
 *
 * The token is why the classic idiom works: the parent passes `childEnd` to a Process and closes
 * its own copy at once; the copy travelling to the child still counts until the child holds it,
 * so the parent does not see EOF before the child has started. As in Python, a parent that keeps
 * its copy of the child's end open never sees EOF.
 */
import { threadId } from 'node:worker_threads';
import { broker } from '../internal/process/broker-client.js';
import { noteTransfer } from '../internal/process/transfers.js';
import { kShared, type SharedState } from '../internal/serialize.js';
import { RuntimeError } from './errors.js';
import { Queue } from './queue.js';
import { checkTimeout, registerKind } from './shared-object.js';

let tokenSeq = 0;

/**
 * One end of a `Pipe()`: `send` an object, `recv` the next one. Ends travel to children in
 * `args` (or inside queue items) and stay connected; each copy is a handle of that end, closed
 * by `close()` or by the end of the process or thread holding it.
 */
export class Connection {
  readonly #in: Queue | null;
  readonly #out: Queue | null;
  #closed = false;

  /**
   * @internal `token`: this handle was serialised elsewhere and is revived here; null: a new
   * Pipe's end, counted by the creation of the direction it writes.
   */
  constructor(inbound: Queue | null, outbound: Queue | null, token: string | null) {
    this.#in = inbound;
    this.#out = outbound;
    if (outbound !== null && token !== null) broker().post('adopt', outbound._id, [token]);
  }

  get readable(): boolean {
    return this.#in !== null;
  }
  get writable(): boolean {
    return this.#out !== null;
  }
  get closed(): boolean {
    return this.#closed;
  }

  /** Sends `obj` (structured-cloned) to the other end. */
  send(obj: unknown): void {
    if (this.#closed) throw new RuntimeError('Connection is closed', 'ERR_WEFT_CONNECTION_CLOSED');
    if (!this.#out)
      throw new RuntimeError('Connection is read-only', 'ERR_WEFT_CONNECTION_READONLY');
    this.#out.putNowait(obj);
  }

  /**
   * Resolves to the next object sent from the other end.
   * @throws EOFError when nothing is left and every handle of the other end is closed.
   */
  async recv(): Promise<unknown> {
    if (this.#closed) throw new RuntimeError('Connection is closed', 'ERR_WEFT_CONNECTION_CLOSED');
    if (!this.#in)
      throw new RuntimeError('Connection is write-only', 'ERR_WEFT_CONNECTION_WRITEONLY');
    return this.#in.get();
  }

  /**
   * Whether `recv()` would answer within `timeout` ms (default 0; null waits for ever): an object
   * is ready (it stays to be recv'd) or the other end is closed (recv raises EOFError), as in
   * Python.
   */
  async poll(timeout: number | null = 0): Promise<boolean> {
    if (this.#closed) throw new RuntimeError('Connection is closed', 'ERR_WEFT_CONNECTION_CLOSED');
    if (!this.#in)
      throw new RuntimeError('Connection is write-only', 'ERR_WEFT_CONNECTION_WRITEONLY');
    const t = checkTimeout('Connection.poll', timeout);
    const end = t === null ? null : performance.now() + t;
    for (;;) {
      const { items, writers } = await this.#in._pipeState();
      if (items > 0 || writers === 0) return true;
      if (end !== null && performance.now() >= end) return false;
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  /**
   * Closes this handle: the other end sees EOF once every handle of this end is closed. Objects
   * this handle had fetched and not received go back for the end's other handles.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#out !== null) broker().post('unhold', this.#out._id, []);
    this.#in?._returnHeld();
  }

  [kShared](): SharedState {
    if (this.#closed)
      throw new RuntimeError(
        'A closed Connection cannot be sent: send an open one',
        'ERR_WEFT_CONNECTION_CLOSED',
      );
    let token: string | null = null;
    if (this.#out !== null) {
      token = `${process.pid}.${threadId}.${++tokenSeq}`;
      broker().post('holdToken', this.#out._id, [token]);
      noteTransfer(token);
    }
    return { kind: 'mp:Connection', state: { in: this.#in, out: this.#out, token } };
  }
}

registerKind(
  'mp:Connection',
  (s) => {
    const st = s as unknown as { in: Queue | null; out: Queue | null; token: string | null };
    // A read-only end carries no token (it counts for nothing).
    return new Connection(st.in, st.out, st.token ?? null);
  },
  import.meta.url,
);

/**
 * Python's `multiprocessing.Pipe(duplex)`: two connected ends. Duplex (the default): both ends
 * send and receive; otherwise the first end only receives and the second only sends.
 */
export function Pipe(duplex = true): [Connection, Connection] {
  const ab = Queue._pipeDirection();
  if (!duplex) return [new Connection(ab, null, null), new Connection(null, ab, null)];
  const ba = Queue._pipeDirection();
  return [new Connection(ba, ab, null), new Connection(ab, ba, null)];
}
