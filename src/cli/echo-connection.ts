/**
 * The echo-uppercase work shared by `weft serve echo`'s models, and the child side of its
 * `process` model: one connection, handed over in a Process's args, served until EOF. Kept
 * apart from serve.ts so that each child imports this small module only.
 */
import { task } from '../internal/task-ref.js';
import type { Socket } from '../socket/socket.js';

/** ASCII upper-case in place (the buffer is ours), like Python's `bytes.upper()`. */
export function upperInPlace(b: Buffer): Buffer {
  for (let i = 0; i < b.length; i++) {
    const c = b[i] as number;
    if (c >= 97 && c <= 122) b[i] = c - 32;
  }
  return b;
}

/** Blocking-style echo on a weft Socket (greenlets, a child process): recv up to 1024 bytes,
 * send them back upper-cased, until EOF. A reset, or a close by the server's shutdown, just
 * ends the loop; closing the socket is the caller's. */
export async function echoUntilEof(conn: Socket): Promise<void> {
  try {
    for (;;) {
      const data = await conn.recv(1024);
      if (data.length === 0) break;
      await conn.sendall(upperInPlace(data));
    }
  } catch {
    // the connection is over either way
  }
}

/** Runs in a child process: one connection, served until EOF (then this process ends). */
export const echoConnection = task(import.meta, async (conn: Socket): Promise<void> => {
  try {
    await echoUntilEof(conn);
  } finally {
    conn.close();
  }
});
