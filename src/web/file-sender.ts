/**
 * Sends a byte range of an open file as the body of a response whose head is already written.
 *
 * This is the one place that knows how file bytes reach the socket. `weft/sendfile` (zero-copy
 * `sendfile(2)`) is being built beside this module; until it lands, the range is streamed with
 * a `createReadStream` pipe (a read into user space and a write per chunk, with back pressure).
 * The chunk size trades syscalls against memory per in-flight download.
 */
import type { FileHandle } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';

/** Tuning: bytes per read. 256 KiB quarters the syscalls of the 64 KiB default. */
const CHUNK = 256 * 1024;

export function sendFileBody(
  res: ServerResponse,
  fh: FileHandle,
  offset: number,
  count: number,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (count === 0) {
      res.end(resolve);
      return;
    }
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
    res.once('close', () => {
      if (!res.writableFinished) {
        rs.destroy();
        const e = new Error('The client closed the connection during a file download');
        (e as NodeJS.ErrnoException).code = 'ECONNRESET';
        reject(e);
      }
    });
    res.once('finish', () => resolve());
    rs.pipe(res);
  });
}
