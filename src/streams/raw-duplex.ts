/**
 * A Node `Duplex` over a RawTransport, for what needs a real stream under it: Node's TLSSocket
 * wraps a `net.Socket` or any Duplex, and a RawTransport (weft's own descriptor) is neither. A
 * TLS connection on the raw transport (an adopted weft socket, `startTls` on a connection of a
 * raw server) runs through this; the plain path never does.
 *
 *   RawTransport ──'data'──► push() ── false? ──► pause()      _read() ──► resume()
 *   _write(chunk, cb) ──► write(chunk, cb)                      _final ──► end() (FIN)
 *   'end' ──► push(null)   'error'/'close' ──► destroy
 */
import { Duplex } from 'node:stream';
import type { RawTransport } from './raw-transport.js';

export class RawDuplex extends Duplex {
  readonly transport: RawTransport;

  constructor(t: RawTransport) {
    super({ allowHalfOpen: true });
    this.transport = t;
    t.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) t.pause();
    });
    t.on('end', () => this.push(null));
    t.on('error', (err: Error) => this.destroy(err));
    t.on('close', () => this.destroy());
  }

  override _read(): void {
    this.transport.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    // The callback is the back pressure TLS sees: it comes once the kernel took the bytes.
    this.transport.write(chunk, (err?: Error | null) => cb(err ?? null));
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.transport.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    this.transport.destroy(err ?? undefined);
    cb(err);
  }
}
