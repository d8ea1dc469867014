/**
 * Loads the raw-socket addon (native/io.c) if it was built at install time; null otherwise.
 */
import { createRequire } from 'node:module';
import { debuglog } from 'node:util';

export interface IoBinding {
  listen(host: string, port: number, backlog: number): number;
  localPort(fd: number): number;
  addressOf(fd: number, peer: boolean): [string, number] | number;
  accept(fd: number): number;
  recv(fd: number, buf: Uint8Array, offset: number, length: number): number;
  send(fd: number, buf: Uint8Array, offset: number, length: number): number;
  recvBlocking(
    fd: number,
    buf: Uint8Array,
    offset: number,
    length: number,
    timeoutMs: number,
  ): number;
  sendallBlocking(
    fd: number,
    buf: Uint8Array,
    offset: number,
    length: number,
    timeoutMs: number,
  ): number;
  acceptBlocking(fd: number, timeoutMs: number): number;
  shutdown(fd: number, how: number): number;
  close(fd: number): number;
  epollCreate(onReady: () => void): object | number;
  epollCtl(poller: object, op: number, fd: number, events: number): number;
  epollWait(poller: object, out: Int32Array): number;
  epollWatch(poller: object, on: boolean): number;
  epollClose(poller: object): number;
}

const debug = debuglog('weft');

function load(): IoBinding | null {
  if (process.env.WEFT_NO_NATIVE === '1' || process.platform !== 'linux') return null;
  try {
    // src/socket/ and dist/socket/ are both two levels below the package root.
    return createRequire(import.meta.url)('../../native/build/Release/weft_io.node') as IoBinding;
  } catch (e) {
    debug('raw sockets: addon not loaded: %s', (e as Error).message);
    return null;
  }
}

export const io: IoBinding | null = load();
