import { kShared, type SharedState } from '../internal/serialize.js';
import { RuntimeError } from './errors.js';
import { Queue } from './queue.js';
import { checkTimeout, registerKind } from './shared-object.js';

/**
 * One end of a `Pipe()` (Python's multiprocessing.connection.Connection): `send` an object,
 * `recv` the next one. Ends travel to children in `args` and stay connected.
 */
export class Connection {
  readonly #in: Queue | null;
  readonly #out: Queue | null;
  #closed = false;

  /** @internal */
  constructor(inbound: Queue | null, outbound: Queue | null) {
    this.#in = inbound;
    this.#out = outbound;
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

  /** Resolves to the next object sent from the other end. */
  recv(): Promise<unknown> {
    if (this.#closed)
      return Promise.reject(new RuntimeError('Connection is closed', 'ERR_WEFT_CONNECTION_CLOSED'));
    if (!this.#in)
      return Promise.reject(
        new RuntimeError('Connection is write-only', 'ERR_WEFT_CONNECTION_WRITEONLY'),
      );
    return this.#in.get();
  }

  /** Whether an object is ready within `timeout` ms (default 0). The object stays to be recv'd. */
  async poll(timeout: number | null = 0): Promise<boolean> {
    if (!this.#in)
      throw new RuntimeError('Connection is write-only', 'ERR_WEFT_CONNECTION_WRITEONLY');
    const t = checkTimeout('Connection.poll', timeout);
    const end = t === null ? null : performance.now() + t;
    for (;;) {
      if ((await this.#in._qsizeAsync()) > 0) return true;
      if (end !== null && performance.now() >= end) return false;
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  close(): void {
    this.#closed = true;
  }

  [kShared](): SharedState {
    return { kind: 'mp:Connection', state: { in: this.#in, out: this.#out } };
  }
}

registerKind(
  'mp:Connection',
  (s) => {
    const st = s as unknown as { in: Queue | null; out: Queue | null };
    return new Connection(st.in, st.out);
  },
  import.meta.url,
);

/**
 * Python's `multiprocessing.Pipe(duplex)`: two connected ends. Duplex (the default): both ends
 * send and receive; otherwise the first end only receives and the second only sends.
 */
export function Pipe(duplex = true): [Connection, Connection] {
  const ab = new Queue(0, { prefetch: 64 });
  if (!duplex) return [new Connection(ab, null), new Connection(null, ab)];
  const ba = new Queue(0, { prefetch: 64 });
  return [new Connection(ba, ab), new Connection(ab, ba)];
}
