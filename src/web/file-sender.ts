/**
 * Sends a byte range of an open file as the body of a response whose head is already set.
 *
 * This is the one place that knows how file bytes reach the socket. Over plain TCP the head is
 * flushed and the range goes out with `weft/sendfile` — the kernel's zero-copy `sendfile(2)`
 * when its addon is built, its copy loop otherwise — straight to the connection's socket, after
 * which the response is ended with no further bytes (the length was in the head). Where the
 * socket is not ours alone — TLS (the kernel would bypass encryption) or a pipelined response
 * still queued behind an earlier one — the range is streamed with a `createReadStream` pipe.
 */
import type { FileHandle } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { sendfile } from '../sendfile/index.js';
import { ConnectionResetError } from '../socket/errors.js';
import { onConnectionClose } from './connection-close.js';

/** Tuning: bytes per read of the fallback pipe; 256 KiB quarters the syscalls of 64 KiB. */
const CHUNK = 256 * 1024;

/** For the benchmark and tests: force the stream pipe even where sendfile could be used. */
let pipeOnly = false;

/** @internal */
export function _usePipeOnly(on: boolean): void {
  pipeOnly = on;
}

export async function sendFileBody(
  res: ServerResponse,
  fh: FileHandle,
  offset: number,
  count: number,
): Promise<void> {
  if (count === 0) {
    await new Promise<void>((resolve) => res.end(resolve));
    return;
  }
  const socket = res.socket as (Socket & { encrypted?: boolean; _httpMessage?: unknown }) | null;
  if (pipeOnly || socket === null || socket.encrypted || socket._httpMessage !== res) {
    return pipeRange(res, fh, offset, count);
  }
  res.flushHeaders();
  let sent: number;
  try {
    sent = await sendfile(socket, fh, { offset, count });
  } catch (e) {
    res.destroy();
    throw e;
  }
  if (sent !== count) {
    // The file shrank under us: the promised length cannot be kept, so the connection goes.
    res.destroy();
    return;
  }
  await new Promise<void>((resolve) => res.end(resolve));
}

function pipeRange(
  res: ServerResponse,
  fh: FileHandle,
  offset: number,
  count: number,
): Promise<void> {
  const socket = res.req.socket;
  if (res.destroyed || socket.destroyed) {
    return Promise.reject(
      new ConnectionResetError('The client closed the connection before a file download'),
    );
  }
  return new Promise<void>((resolve, reject) => {
    const rs = fh.createReadStream({
      start: offset,
      end: offset + count - 1,
      autoClose: false,
      highWaterMark: CHUNK,
    });
    const fail = (e: Error): void => {
      rs.destroy();
      res.destroy(e);
      reject(e);
    };
    rs.once('error', fail);
    // A response queued behind an earlier one (pipelining) gets no 'close' of its own when the
    // connection goes: its request's socket closing says it (else the file stayed open).
    const closed = (): void => {
      res.off('close', closed);
      stop();
      if (!res.writableFinished) {
        rs.destroy();
        reject(new ConnectionResetError('The client closed the connection during a file download'));
      }
    };
    res.once('close', closed);
    const stop = onConnectionClose(socket, closed);
    res.once('finish', () => {
      stop();
      resolve();
    });
    rs.pipe(res);
  });
}
