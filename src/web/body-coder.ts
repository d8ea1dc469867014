/**
 * BodyCoder: the compressor a streamed body goes through (a StreamResponse's writes, a
 * FileResponse's file) once `enableCompression()` chose a coding.
 *
 *   write(chunk) ─► zlib stream (libuv's thread pool) ─'data'─► res.write ─► socket
 *        ▲                 │ paused while res is full          │
 *        └── waits for its 'drain' ◄──────────── res 'drain' ◄──┘
 *
 * Back pressure runs end to end: a socket that does not drain pauses the zlib stream's output,
 * its buffers fill (16 KiB each side), its `write()` says so, and `write()` here waits for its
 * 'drain' — so a client that stops reading holds the handler, not an unbounded backlog.
 * Nothing is flushed per write (as aiohttp's compressor): small writes may sit in the
 * compressor until more come or the body ends, which codes better.
 *
 * The compressor is destroyed without an error when the client leaves; an 'error' is zlib's
 * own failure (out of memory), read as `failure`: the body cannot be completed, and the
 * response must be cut rather than ended (see StreamResponse.writeEof).
 */
import type { ServerResponse } from 'node:http';
import { createBrotliCompress, createDeflate, createGzip } from 'node:zlib';
import { connectionGone, connectionLost, onConnectionClose } from './connection-close.js';
import { type Compression, streamBrotliOptions } from './content-coding.js';

type Coder = ReturnType<typeof createGzip> | ReturnType<typeof createBrotliCompress>;

export class BodyCoder {
  private readonly z: Coder;
  private readonly res: ServerResponse;
  private paused = false;
  private readonly stop: () => void;

  constructor(res: ServerResponse, coding: Compression) {
    this.res = res;
    this.z =
      coding === 'gzip'
        ? createGzip()
        : coding === 'deflate'
          ? createDeflate()
          : createBrotliCompress(streamBrotliOptions());
    this.z.on('data', (out: Buffer) => this.out(out));
    // Read from `errored` (set at once, where 'error' comes a tick later); the waits below
    // hear it as 'close'.
    this.z.on('error', () => {});
    // A client that leaves frees the compressor's native memory at once, and ends any wait.
    this.stop = onConnectionClose(res.req.socket, () => this.z.destroy());
  }

  /** zlib's own error, once it failed (null: it did not, or it was destroyed for a lost client). */
  get failure(): Error | null {
    return this.z.errored;
  }

  /**
   * @internal For tests: the compressor's output is held until the socket drains (the state in
   * which a client that does not read holds the handler), read rather than guessed from a
   * pause in the writes, which a stall would fake.
   */
  get _heldBySocket(): boolean {
    return this.paused;
  }

  private out(chunk: Buffer): void {
    const res = this.res;
    if (connectionGone(res)) return;
    if (!res.write(chunk) && !this.paused) {
      this.paused = true;
      this.z.pause();
      res.once('drain', () => {
        this.paused = false;
        this.z.resume();
      });
    }
  }

  /**
   * Hands `chunk` to the compressor; resolves when it can take more.
   * @throws {ConnectionResetError} the client closed the connection. {Error} zlib's own
   *   failure.
   */
  async write(chunk: Uint8Array): Promise<void> {
    const z = this.z;
    if (z.destroyed) throw this.failure ?? connectionLost();
    if (chunk.byteLength === 0 || z.write(chunk)) return;
    await new Promise<void>((resolve, reject) => {
      const drained = (): void => {
        z.off('close', closed);
        resolve();
      };
      const closed = (): void => {
        z.off('drain', drained);
        reject(this.failure ?? connectionLost());
      };
      z.once('drain', drained);
      z.once('close', closed);
    });
  }

  /**
   * Ends the coded body: resolves once the compressor's last bytes were handed to the response
   * (or the connection went, or zlib failed: see `failure`), so that the response can be ended
   * after them.
   */
  finish(): Promise<void> {
    const z = this.z;
    return new Promise<void>((resolve) => {
      const done = (): void => {
        z.off('end', done);
        z.off('close', done);
        this.stop();
        resolve();
      };
      if (z.destroyed) {
        done();
        return;
      }
      z.once('end', done);
      z.once('close', done);
      z.end();
    });
  }
}
