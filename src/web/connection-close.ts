/**
 * One 'close' listener per client connection, however many responses wait on it.
 *
 * A response queued behind an earlier one on its connection (HTTP pipelining) has no socket of
 * its own yet, and Node does not close it when the connection goes; whatever waits on such a
 * response (a write's drain, an end, a file being piped) must hear of the connection's closing
 * from the socket itself. Pipelined responses may be many on one socket: registering each
 * waiter here instead of on the socket keeps Node's listener count (and its leak warning) flat.
 */
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ConnectionResetError } from '../socket/errors.js';

const waiters = new WeakMap<Duplex, Set<() => void>>();

function closed(this: Duplex): void {
  const set = waiters.get(this);
  waiters.delete(this);
  if (set !== undefined) for (const fn of set) fn();
}

/**
 * Calls `fn` once when `socket` closes (at once, on a later tick, if it is already destroyed).
 * @returns a function that takes `fn` off, for a wait that ended another way.
 */
export function onConnectionClose(socket: Duplex, fn: () => void): () => void {
  if (socket.destroyed) {
    let live = true;
    queueMicrotask(() => {
      if (live) fn();
    });
    return () => {
      live = false;
    };
  }
  let set = waiters.get(socket);
  if (set === undefined) {
    set = new Set();
    waiters.set(socket, set);
    socket.once('close', closed);
  }
  set.add(fn);
  return () => {
    set.delete(fn);
  };
}

/** What a write to a response whose client has gone raises. */
export function connectionLost(): Error {
  return new ConnectionResetError('Cannot write: the client closed the connection');
}

/**
 * The client's connection is gone. A response queued behind an earlier one on its
 * connection (pipelining) has no socket yet, and Node never closes it when the connection goes:
 * the request's socket tells.
 */
export function connectionGone(res: ServerResponse): boolean {
  return res.destroyed || res.req.socket.destroyed;
}
