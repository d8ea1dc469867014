/**
 * FileResponse: sends a file (aiohttp's `web.FileResponse`), with what browsers and download
 * tools expect of a static file server:
 *
 * - `Content-Type` from the extension (or the one given), `Content-Length`, `Accept-Ranges`;
 * - validators `ETag` (`"<mtime ns hex>-<size hex>"`, aiohttp's form) and `Last-Modified`, and
 *   the conditional requests that use them: `If-None-Match`/`If-Modified-Since` → 304,
 *   `If-Match`/`If-Unmodified-Since` → 412;
 * - one byte range (`Range: bytes=a-b`, `a-`, `-n`, guarded by `If-Range`) → 206 with
 *   `Content-Range`; an unsatisfiable range → 416. A multi-range request gets the whole file
 *   (RFC 9110 lets a server ignore `Range`).
 *
 * The file is opened once and the same descriptor is stat'ed and sent, so a file replaced in
 * between cannot be sent with the other file's length.
 */
import { type BigIntStats, constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { acceptsGzip, addVary, type Compression, ContentCoding } from './content-coding.js';
import { sendFileBody } from './file-sender.js';
import { absentSiblings, describes, MISSING, openSibling } from './gz-sibling.js';
import { HTTPForbidden, HTTPNotFound } from './http-exceptions.js';
import { contentTypeFor } from './mime-types.js';
import type { Request } from './request.js';
import { StreamResponse, type StreamResponseOptions } from './stream-response.js';

export interface FileResponseOptions extends StreamResponseOptions {
  /** Overrides the type guessed from the extension. */
  contentType?: string;
  /** @internal refuse to follow a symlink at the last path component (static files). */
  noFollow?: boolean;
}

interface Range {
  start: number;
  count: number;
}

export class FileResponse extends StreamResponse {
  readonly path: string;
  private readonly type: string | undefined;
  private readonly noFollow: boolean;

  constructor(path: string, options: FileResponseOptions = {}) {
    super(options);
    if (typeof path !== 'string' || path === '') {
      throw new TypeError(`FileResponse needs a file path: received ${String(path)}`);
    }
    this.path = path;
    this.type = options.contentType;
    this.noFollow = options.noFollow ?? false;
  }

  override async prepare(request: Request): Promise<void> {
    await this._send(request);
  }

  /** @internal */
  override async _send(request: Request): Promise<void> {
    if (this.prepared) return;
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, holding a
    // thread of libuv's small pool for ever; a regular file ignores the flag.
    const flags =
      constants.O_RDONLY | constants.O_NONBLOCK | (this.noFollow ? constants.O_NOFOLLOW : 0);
    const opened = await this.openFileOrSibling(request, flags);
    const fh = opened.fh;
    const gzipped = opened.gzipped;
    try {
      const st = opened.st ?? (await fh.stat({ bigint: true }));
      if (!st.isFile()) throw new HTTPForbidden();
      // The sibling's answer differs by Accept-Encoding (unless a forced gzip sent it); so does
      // a coding chosen from it.
      if (gzipped && this._compressionForce === null) addVary(this.headers);
      const coding =
        !gzipped && this._compression ? this._chooseCoding(request) : ContentCoding.identity;
      const size = Number(st.size);
      const etag = `"${st.mtimeNs.toString(16)}-${st.size.toString(16)}"`;
      const mtimeSec = Math.floor(Number(st.mtimeMs) / 1000);
      const lastModified = new Date(mtimeSec * 1000).toUTCString();
      const h = request.headers;
      const res = request._res;
      const validators = ['etag', etag, 'last-modified', lastModified];

      const ifMatch = h['if-match'];
      const ifUnmodified = parseDate(h['if-unmodified-since']);
      if (
        (ifMatch !== undefined && !etagMatches(ifMatch, etag, true)) ||
        (ifMatch === undefined && ifUnmodified !== null && mtimeSec > ifUnmodified)
      ) {
        this._res = res;
        res.writeHead(412, ['content-length', '0', ...validators]);
        res.end();
        return;
      }
      const ifNoneMatch = h['if-none-match'];
      const ifModified = parseDate(h['if-modified-since']);
      if (
        (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, etag, false)) ||
        (ifNoneMatch === undefined && ifModified !== null && mtimeSec <= ifModified)
      ) {
        this.sendHead(res, validators, 304, true);
        res.end();
        return;
      }

      let range: Range | 'unsatisfiable' | null = null;
      const rangeHeader = h.range;
      // A coded body has no byte positions to answer a range with: the whole of it goes out
      // (RFC 9110 lets a server ignore Range).
      if (
        coding === ContentCoding.identity &&
        rangeHeader !== undefined &&
        ifRangeHolds(h['if-range'] as string | undefined, etag, mtimeSec)
      ) {
        range = parseRange(rangeHeader, size);
      }
      const type = this.type ?? this._headers?.get('content-type') ?? contentTypeFor(this.path);
      if (range === 'unsatisfiable') {
        const head = ['content-range', `bytes */${size}`, 'content-length', '0'];
        this.sendHead(res, head, 416, false);
        res.end();
        return;
      }
      if (coding !== ContentCoding.identity) {
        await this.sendCoded(request, fh, size, type, validators, coding);
        return;
      }
      let start = 0;
      let count = size;
      const head = ['content-type', type, 'accept-ranges', 'bytes', ...validators];
      if (gzipped) head.push('content-encoding', 'gzip');
      if (range !== null) {
        start = range.start;
        count = range.count;
        head.push('content-range', `bytes ${start}-${start + count - 1}/${size}`);
      }
      head.push('content-length', String(count));
      this.sendHead(res, head, range === null ? null : 206, false);
      if (request.method === 'HEAD') {
        res.end();
        return;
      }
      await sendFileBody(res, fh, start, count);
    } finally {
      await fh.close();
    }
  }

  /**
   * The file to send, opened: its `.gz` sibling when the answer may be gzip and there is one
   * (see gz-sibling.ts), else the file itself; `st` when it was stat'ed on the way.
   *
   * A coding forced by enableCompression() wins over the sibling: gzip takes it whatever the
   * client said, deflate, br and identity send the file itself (aiohttp 3.8 codes the sibling's
   * gzip bytes a second time and labels them with the forced coding alone, or for identity
   * sends the sibling: bodies no client reads as the file).
   */
  private async openFileOrSibling(
    request: Request,
    flags: number,
  ): Promise<{ fh: FileHandle; st: BigIntStats | null; gzipped: boolean }> {
    const force = this._compression ? this._compressionForce : null;
    const wanted =
      force === null
        ? acceptsGzip(request.headers['accept-encoding'])
        : force === ContentCoding.gzip;
    if (!wanted) return { fh: await openFile(this.path, flags), st: null, gzipped: false };
    const path = `${this.path}.gz`;
    const absent = absentSiblings.get(path);
    if (absent === undefined) {
      // Sibling first: when it is there, the file itself need not be opened at all.
      const sibling = await openSibling(path, flags);
      if (sibling !== null && sibling !== MISSING) return { ...sibling, gzipped: true };
      const fh = await openFile(this.path, flags);
      if (sibling === null) return { fh, st: null, gzipped: false };
      return await siblingAfterStat(path, flags, fh, await statOrClose(fh));
    }
    let fh: FileHandle;
    try {
      fh = await openFile(this.path, flags);
    } catch (e) {
      // The file went: a sibling may have stayed or come (sent alone, as when never remembered).
      const sibling = await openSibling(path, flags);
      if (sibling !== null && sibling !== MISSING) return { ...sibling, gzipped: true };
      throw e;
    }
    const st = await statOrClose(fh);
    if (describes(absent, st)) return { fh, st, gzipped: false };
    // The file changed since its sibling was found missing: one may have come with it.
    return await siblingAfterStat(path, flags, fh, st);
  }

  /**
   * The whole file through the compressor enableCompression() chose: no `Content-Length` (the
   * coded size is known only at the end) and no `Accept-Ranges`, read in pieces and written as
   * a StreamResponse's body, so the file's bytes pass through the process instead of sendfile.
   */
  private async sendCoded(
    request: Request,
    fh: FileHandle,
    size: number,
    type: string,
    validators: string[],
    coding: Compression,
  ): Promise<void> {
    const res = request._res;
    this.sendHead(
      res,
      ['content-type', type, ...validators, 'content-encoding', coding],
      null,
      false,
    );
    if (request.method === 'HEAD' || (res as { _hasBody?: boolean })._hasBody === false) {
      res.end();
      return;
    }
    this._startCoder(res, coding);
    let pos = 0;
    while (pos < size) {
      // A new buffer each time: the compressor holds a chunk until its thread has read it.
      const buf = Buffer.allocUnsafe(Math.min(CODED_CHUNK, size - pos));
      const { bytesRead } = await fh.read(buf, 0, buf.byteLength, pos);
      if (bytesRead === 0) break; // the file shrank: the chunked body just ends sooner
      await this.write(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
    await this.writeEof();
  }

  /**
   * Writes the head with `extra`, under `status` (its own phrase, as aiohttp's `set_status`)
   * or the response's own (null), with the headers' `Content-Type` and `Content-Length` unless
   * `ownBodyHeaders` is false (`extra` has the file's). Only once Node took the head is the
   * response prepared and changed to match it: a head Node refuses (a bad header value) leaves
   * the response as it was, so that a handler that mends it and prepares again sends its own
   * head (else the second prepare did nothing and the client got no answer).
   */
  private sendHead(
    res: ServerResponse,
    extra: string[],
    status: number | null,
    ownBodyHeaders: boolean,
  ): void {
    this._writeHead(res, extra, {
      ...(status === null ? {} : { status }),
      bodyHeaders: ownBodyHeaders,
    });
    this._res = res;
    if (status !== null) {
      this.status = status;
      this.reason = undefined; // the new status's phrase, as aiohttp's set_status
    }
    if (!ownBodyHeaders) {
      this._headers?.delete('content-type');
      this._headers?.delete('content-length');
    }
  }
}

/** Tuning: bytes read per piece of a compressed file; four of the compressor's 16 KiB chunks. */
const CODED_CHUNK = 64 * 1024;

/** `path` opened. @throws {HTTPNotFound} it is not there. {HTTPForbidden} it may not be read. */
async function openFile(path: string, flags: number): Promise<FileHandle> {
  try {
    return await open(path, flags);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new HTTPNotFound();
    if (code === 'EACCES' || code === 'ELOOP' || code === 'EISDIR') throw new HTTPForbidden();
    throw e;
  }
}

/**
 * The sibling at `path` looked for after the file open as `fh` was stat'ed as `st`, and
 * remembered missing for that file when it is not there; `fh` is closed if the sibling is sent.
 *
 * Only a look made after the stat may be remembered with it: a deploy that writes `x.gz` and
 * then `x` between an earlier look and the stat would otherwise leave the new `x` remembered
 * as a file without a sibling, and its `x.gz` unsent for the memory's lifetime. It costs a
 * file without a sibling a second failed open once per lifetime.
 */
async function siblingAfterStat(
  path: string,
  flags: number,
  fh: FileHandle,
  st: BigIntStats,
): Promise<{ fh: FileHandle; st: BigIntStats; gzipped: boolean }> {
  const sibling = await openSibling(path, flags).catch(async (e: unknown) => {
    await fh.close();
    throw e;
  });
  if (sibling === MISSING) absentSiblings.remember(path, st);
  if (sibling === null || sibling === MISSING) return { fh, st, gzipped: false };
  await fh.close();
  return { ...sibling, gzipped: true };
}

/** The stat of `fh`, which is closed if that fails (the caller has nothing to close then). */
async function statOrClose(fh: FileHandle): Promise<BigIntStats> {
  try {
    return await fh.stat({ bigint: true });
  } catch (e) {
    await fh.close();
    throw e;
  }
}

function parseDate(v: string | undefined): number | null {
  if (v === undefined) return null;
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : Math.floor(t / 1000);
}

/** `If-Match` uses strong comparison, `If-None-Match` weak (RFC 9110 §13.1). */
function etagMatches(header: string, etag: string, strong: boolean): boolean {
  if (header.trim() === '*') return true;
  for (let tag of header.split(',')) {
    tag = tag.trim();
    if (tag.startsWith('W/')) {
      if (strong) continue;
      tag = tag.slice(2);
    }
    if (tag === etag) return true;
  }
  return false;
}

function ifRangeHolds(v: string | undefined, etag: string, mtimeSec: number): boolean {
  if (v === undefined) return true;
  const t = v.trim();
  if (t.startsWith('"') || t.startsWith('W/')) return t === etag;
  const d = parseDate(t);
  return d !== null && d === mtimeSec;
}

/** One `bytes=` range; null for anything to ignore (malformed, several ranges). */
function parseRange(header: string, size: number): Range | 'unsatisfiable' | null {
  const m = /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/.exec(header);
  if (m === null) return null;
  const a = m[1] as string;
  const b = m[2] as string;
  if (a === '' && b === '') return null;
  if (a === '') {
    const n = Number(b);
    if (n === 0) return 'unsatisfiable';
    const count = Math.min(n, size);
    if (count === 0) return 'unsatisfiable';
    return { start: size - count, count };
  }
  const start = Number(a);
  if (start >= size) return 'unsatisfiable';
  let end = b === '' ? size - 1 : Number(b);
  if (end < start) return null;
  if (end > size - 1) end = size - 1;
  return { start, count: end - start + 1 };
}
