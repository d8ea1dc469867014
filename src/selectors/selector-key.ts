import type { Socket } from '../socket/socket.js';

/** `EVENT_READ`: readable — bytes, EOF or an error to read; for a listening socket, a connection
 * waiting to be accepted. */
export const EVENT_READ = 1;
/** `EVENT_WRITE`: a send would not wait (or would fail at once). */
export const EVENT_WRITE = 2;

/**
 * What a selector keeps for one registered socket (Python's `SelectorKey` named tuple): frozen.
 *
 * `fd` is the socket's `fileno()` when it was registered. Python's socket has its descriptor
 * from `socket()` on; a weft socket only from `listen()` or `connect()` on — and on Node's net
 * transport, one step later: a connect starts connect(2) on the next tick. A socket registered
 * before it had one gets `fd` -1 until it has one, then that descriptor for good (after
 * `close()` too, as Python's key keeps it).
 */
export class SelectorKey<D = unknown, F = Socket> {
  readonly fileobj: F;
  declare readonly fd: number;
  readonly events: number;
  readonly data: D;

  constructor(fileobj: F, fd: number, events: number, data: D) {
    this.fileobj = fileobj;
    let known = fd;
    Object.defineProperty(this, 'fd', {
      enumerable: true,
      get: (): number => {
        if (known < 0) {
          const now = (fileobj as { fileno?: () => number }).fileno?.() ?? -1;
          if (now >= 0) known = now;
        }
        return known;
      },
    });
    this.events = events;
    this.data = data;
    Object.freeze(this);
  }
}
