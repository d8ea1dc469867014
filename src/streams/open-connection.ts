import { type Socket as NetSocket, connect as netConnect } from 'node:net';
import { installedRunningLoop } from '../asyncio/event-loop.js';
import { argumentError } from '../internal/errors.js';
import { Waiter } from '../internal/waiter.js';
import { fromSystemError } from '../socket/errors.js';
import {
  type ConnectionOptions,
  checkConnectionOptions,
  checkPort,
  closeWithLoop,
  wireStreams,
} from './protocol.js';
import type { StreamReader } from './stream-reader.js';
import type { StreamWriter } from './stream-writer.js';

export interface OpenConnectionOptions extends ConnectionOptions {
  signal?: AbortSignal;
  /** Local address to bind before connecting. */
  localAddress?: string;
}

/**
 * Connects to `host:port` over TCP and resolves to a `[reader, writer]` pair
 * (`asyncio.open_connection`).
 *
 * **Cancellation:** cancelling the task (or aborting `signal`) while connecting destroys the
 * half-made connection.
 * @throws {ConnectionRefusedError} nothing listens there. {OSError} other failures.
 * @example
 * const [reader, writer] = await openConnection('127.0.0.1', port);
 * await using _ = writer;
 * writer.write('hello\n');
 * const line = await reader.readline();
 */
export function openConnection(
  host: string,
  port: number,
  options: OpenConnectionOptions = {},
): Promise<[StreamReader, StreamWriter]> {
  // A bad argument rejects, as every verb returning a promise does (docs/socket.md).
  try {
    if (typeof host !== 'string') {
      throw argumentError('openConnection: host must be a string', host);
    }
    checkPort('openConnection', port, 1);
  } catch (e) {
    return Promise.reject(e);
  }
  return connectWith(
    () =>
      netConnect({
        host,
        port,
        allowHalfOpen: true,
        ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      }),
    options,
    undefined,
  );
}

/** `openConnection` over a Unix domain socket at `path` (`asyncio.open_unix_connection`). */
export function openUnixConnection(
  path: string,
  options: OpenConnectionOptions = {},
): Promise<[StreamReader, StreamWriter]> {
  if (typeof path !== 'string' || path === '') {
    return Promise.reject(
      argumentError('openUnixConnection: path must be a non-empty string', path),
    );
  }
  return connectWith(() => netConnect({ path, allowHalfOpen: true }), options, {
    peername: path,
    sockname: '',
  });
}

async function connectWith(
  make: () => NetSocket,
  options: OpenConnectionOptions,
  unix: { peername: string; sockname: string } | undefined,
): Promise<[StreamReader, StreamWriter]> {
  const loop = installedRunningLoop();
  const signal = options.signal;
  if (signal?.aborted) throw signal.reason;
  // Before connecting: a connection made for options that cannot be used would be left open.
  checkConnectionOptions(options);
  const sock = make();
  const w = new Waiter<void>(null);
  const onConnect = (): void => {
    w.wake(undefined);
  };
  const onError = (err: Error): void => {
    w.fail(fromSystemError(err, 'connect'));
  };
  sock.once('connect', onConnect);
  sock.once('error', onError);
  if (signal) w.setSignal(signal);
  try {
    await w.block();
  } catch (e) {
    sock.destroy();
    throw e;
  } finally {
    sock.off('connect', onConnect);
    sock.off('error', onError);
  }
  let pair: [StreamReader, StreamWriter];
  try {
    pair = wireStreams(sock, options, unix);
  } catch (e) {
    sock.destroy();
    throw e;
  }
  // Left open when run() ends, it is aborted with the loop (as the process would drop it).
  const writer = pair[1];
  closeWithLoop(loop, sock, () => writer.abort());
  return pair;
}
