import type { Socket } from '../socket/socket.js';

/** `EVENT_READ`: readable — bytes, EOF or an error to read; for a listening socket, a connection
 * waiting to be accepted. */
export const EVENT_READ = 1;
/** `EVENT_WRITE`: a send would not wait (or would fail at once). */
export const EVENT_WRITE = 2;

/** What a selector keeps for one registered socket (Python's `SelectorKey` named tuple). */
export class SelectorKey<D = unknown, F = Socket> {
  constructor(
    readonly fileobj: F,
    readonly fd: number,
    readonly events: number,
    readonly data: D,
  ) {
    Object.freeze(this);
  }
}
