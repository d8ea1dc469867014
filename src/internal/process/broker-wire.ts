/**
 * The wire between broker clients and the broker (broker.ts): frames of
 * `u32 length | v8.serialize(array of messages)` on a Unix socket. Many messages share a frame:
 * a client coalesces what it sends within one event-loop turn, the broker what it answers.
 *
 * Client → broker: first `{ o: 'hello', a: [pid, name, owner, role] }` (role 'a': a thread's
 *                  async client, 's': its sync client thread); then `{ r, o, id, a }` (request
 *                  r, operation o on object id, arguments a; r −1: no reply wanted);
 *                  `{ o: 'cancel', a: [r] }` withdraws request r if it still waits (it is then
 *                  answered `{ r, c: 1 }`: at once, or — a Condition wait — once it holds the
 *                  lock again; a request answered already is not answered twice). A sync
 *                  client's requests may carry `after` (run once the thread's async socket
 *                  delivered that many messages) and `ship` (messages its async client had not
 *                  sent, or had not wholly handed to the kernel (`dup`), run first).
 * Broker → client: `{ r, v }` (value), `{ r, e }` (encoded error), `{ r, c: 1 }` (cancelled);
 *                  `{ r: 0, unreadable }`: a frame of the client's could not be read (it says
 *                  why), and the broker closes the connection (see FrameReader).
 */
import v8 from 'node:v8';

export interface Request {
  r: number;
  o: string;
  id?: string;
  a?: unknown[];
  /** Sync connection only: run after the async connection of the same thread delivered this many. */
  after?: number;
  /** Sync connection only: the async client's unsent messages, handled first as its own. */
  ship?: Request[];
  /**
   * Sync connection only: `ship` holds the messages numbered `after + 1` on of the async
   * connection, which its socket had not handed to the kernel yet and will deliver later: each
   * runs once, whichever way reaches the broker first.
   */
  dup?: boolean;
}

export interface Reply {
  r: number;
  v?: unknown;
  e?: unknown;
  c?: 1;
  /**
   * With `r` 0: the broker could not read a frame of this connection (what it was and what to
   * do); it closes the connection next. See FrameReader.
   */
  unreadable?: string;
}

export function frame(messages: unknown[]): Buffer {
  const body = v8.serialize(messages);
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32LE(body.length, 0);
  return Buffer.concat([head, body]);
}

/**
 * Splits a byte stream into frames and hands each frame's messages to `onMessages`. Chunks of a
 * frame are kept apart until the whole frame is there, then joined once: joining at every chunk
 * would copy a large frame (a burst of big items) quadratically often.
 *
 * A frame this thread cannot read (`v8.deserialize` throws: a value nested deeper than this
 * thread's stack can read, which a sender with a larger stack could write — a Manager value;
 * a queue item cannot do it, being bytes nobody here reads: broker-item.ts) goes to
 * `onUnreadable`, and the reader takes nothing more: its messages are lost, and those after it
 * may depend on them, so the connection cannot go on. Thrown from a socket's 'data' listener
 * instead, the error took the whole process down.
 */
export class FrameReader {
  #chunks: Buffer[] = [];
  #size = 0;
  /** Bytes needed before parsing can make progress (a header, or the whole next frame). */
  #need = 4;
  #dead = false;
  constructor(
    private readonly onMessages: (ms: unknown[]) => void,
    private readonly onUnreadable: (e: unknown) => void,
  ) {}

  push(chunk: Buffer): void {
    if (this.#dead) return;
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    if (this.#size < this.#need) return;
    const buf = this.#chunks.length === 1 ? chunk : Buffer.concat(this.#chunks, this.#size);
    let at = 0;
    this.#need = 4;
    while (buf.length - at >= 4) {
      const n = buf.readUInt32LE(at);
      if (buf.length - at - 4 < n) {
        this.#need = 4 + n;
        break;
      }
      let ms: unknown[];
      try {
        ms = v8.deserialize(buf.subarray(at + 4, at + 4 + n)) as unknown[];
      } catch (e) {
        this.#dead = true;
        this.#chunks = [];
        this.#size = 0;
        this.onUnreadable(e);
        return;
      }
      at += 4 + n;
      this.onMessages(ms);
    }
    const rest = buf.subarray(at);
    this.#chunks = rest.length === 0 ? [] : [rest];
    this.#size = rest.length;
  }
}
