/**
 * The wire between broker clients and the broker (broker.ts): frames of
 * `u32 length | v8.serialize(array of messages)` on a Unix socket. Many messages share a frame:
 * a client coalesces what it sends within one event-loop turn, the broker what it answers.
 *
 * Client → broker: `{ r, o, id, a }` (request r, operation o on object id, arguments a);
 *                  `{ o: 'hello', a: [pid, name] }`; `{ o: 'cancel', r }` withdraws request r.
 * Broker → client: `{ r, v }` (value), `{ r, e }` (encoded error), `{ r, c: 1 }` (cancelled).
 */
import v8 from 'node:v8';

export interface Request {
  r: number;
  o: string;
  id?: string;
  a?: unknown[];
}

export interface Reply {
  r: number;
  v?: unknown;
  e?: unknown;
  c?: 1;
}

export function frame(messages: unknown[]): Buffer {
  const body = v8.serialize(messages);
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32LE(body.length, 0);
  return Buffer.concat([head, body]);
}

/** Splits a byte stream into frames and hands each frame's messages to `onMessages`. */
export class FrameReader {
  #buf: Buffer = Buffer.alloc(0);
  constructor(private readonly onMessages: (ms: unknown[]) => void) {}

  push(chunk: Buffer): void {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    let at = 0;
    while (this.#buf.length - at >= 4) {
      const n = this.#buf.readUInt32LE(at);
      if (this.#buf.length - at - 4 < n) break;
      const ms = v8.deserialize(this.#buf.subarray(at + 4, at + 4 + n)) as unknown[];
      at += 4 + n;
      this.onMessages(ms);
    }
    this.#buf = at === this.#buf.length ? Buffer.alloc(0) : this.#buf.subarray(at);
  }
}
