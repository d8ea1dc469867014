/**
 * ContentCoding: the codings a response body can be compressed with (aiohttp's
 * `web.ContentCoding`), how one is chosen from a request's `Accept-Encoding`, and the coding of
 * a whole body known up front.
 *
 * Negotiation follows aiohttp 3.8 where the header is plain (`gzip, deflate` gives `deflate`:
 * aiohttp tries deflate first) and RFC 9110 §12.5.3 where aiohttp reads it wrong: a coding is
 * accepted when it is named as a token with a q-value above 0 (aiohttp looks for the name as a
 * substring, so `gzip;q=0` gets gzip), the highest q wins, and aiohttp's order
 * (deflate, gzip, then br, which aiohttp 3.8's server lacks) breaks ties. `*` is not read as
 * naming a coding (aiohttp ignores it too): identity is always an acceptable answer.
 *
 * A body is coded on the event loop when it is small and on libuv's thread pool when it is not
 * (`SYNC_LIMIT`), so that a large body does not hold up every other connection.
 */
import { promisify } from 'node:util';
import {
  type BrotliOptions,
  brotliCompress,
  brotliCompressSync,
  constants,
  deflate,
  deflateSync,
  gzip,
  gzipSync,
  type ZlibOptions,
} from 'node:zlib';
import { argumentError, rangeError } from '../internal/errors.js';

/** The content codings weft's server can send (aiohttp's enum, and `br`). */
export const ContentCoding = {
  deflate: 'deflate',
  gzip: 'gzip',
  br: 'br',
  identity: 'identity',
} as const;
export type ContentCoding = (typeof ContentCoding)[keyof typeof ContentCoding];

const CODINGS: ReadonlySet<string> = new Set(Object.values(ContentCoding));

/** A coding that changes the bytes. */
export type Compression = Exclude<ContentCoding, 'identity'>;

/** The server's order of preference among codings the client weights the same. */
const PREFERENCE: readonly Compression[] = ['deflate', 'gzip', 'br'];

/**
 * Tuning: bodies up to this many bytes are coded on the event loop. Below it a synchronous
 * gzip (tens of µs for 16 KiB of text here) costs less than the thread pool's round trip
 * (60–90 µs measured); above it the coding time grows with the size while the other
 * connections wait, so it goes to the pool. The pool has 4 threads, shared with `fs`.
 */
export const SYNC_LIMIT = 16 * 1024;

/**
 * Brotli's quality for bodies made per request: Node's default (11) spends 50 to some 400 times
 * gzip's CPU (8–72 KB of text, measured here) for 5–15% off gzip's size, a choice for files
 * compressed once, not for answers. Quality 4 costs about what gzip's default level costs on
 * bodies of tens of KB (up to 3 times on a few KB) and codes to within a few percent of its
 * size (smaller on repetitive text).
 */
const BROTLI_QUALITY = 4;

/**
 * `force` as a coding.
 * @throws {TypeError} not a string (a boolean too: aiohttp's deprecated form). {RangeError} a
 *   coding weft does not know (aiohttp's AssertionError).
 */
export function checkCoding(force: unknown): ContentCoding {
  if (typeof force !== 'string') {
    throw argumentError(
      typeof force === 'boolean'
        ? 'enableCompression() takes a ContentCoding, not a boolean (aiohttp deprecated True: give ContentCoding.deflate)'
        : 'enableCompression() takes a ContentCoding',
      force,
    );
  }
  if (!CODINGS.has(force)) {
    throw rangeError(
      "enableCompression() takes a ContentCoding: 'deflate', 'gzip', 'br' or 'identity'",
      force,
    );
  }
  return force as ContentCoding;
}

/** RFC 9110's qvalue: `0`, `0.` and up to three digits, `1`, `1.000`. */
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

/**
 * The weight `header` gives each coding weft knows (0: refused or not named). A q-value that is
 * not one counts as a refusal: when the client's wishes cannot be read, identity is the safe
 * answer. A coding named twice keeps its lower weight.
 */
function weights(header: string): Map<string, number> {
  const w = new Map<string, number>();
  for (const item of header.split(',')) {
    const parts = item.split(';');
    let name = (parts[0] as string).trim().toLowerCase();
    // RFC 9110 §8.4.1.3: a recipient should read x-gzip as gzip.
    if (name === 'x-gzip') name = 'gzip';
    if (name === '') continue;
    let q = 1;
    for (let i = 1; i < parts.length; i++) {
      const eq = (parts[i] as string).indexOf('=');
      if (eq === -1) continue;
      if ((parts[i] as string).slice(0, eq).trim().toLowerCase() !== 'q') continue;
      const v = (parts[i] as string).slice(eq + 1).trim();
      q = QVALUE.test(v) ? Number(v) : 0;
    }
    const before = w.get(name);
    w.set(name, before === undefined ? q : Math.min(before, q));
  }
  return w;
}

/** The coding to answer a request whose `Accept-Encoding` is `header` with; identity for none. */
export function negotiateCoding(header: string | undefined): ContentCoding {
  if (header === undefined || header === '') return 'identity';
  const w = weights(header);
  let best: ContentCoding = 'identity';
  let bestQ = 0;
  for (const c of PREFERENCE) {
    const q = w.get(c) ?? 0;
    if (q > bestQ) {
      best = c;
      bestQ = q;
    }
  }
  return best;
}

/** Whether `header` accepts gzip (a `.gz` sibling of a static file). */
export function acceptsGzip(header: string | undefined): boolean {
  if (header === undefined || header === '') return false;
  return (weights(header).get('gzip') ?? 0) > 0;
}

function brotliOptions(size: number): BrotliOptions {
  return {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
      [constants.BROTLI_PARAM_SIZE_HINT]: size,
    },
  };
}

const gzipAsync = promisify<Uint8Array, ZlibOptions, Buffer>(gzip);
const deflateAsync = promisify<Uint8Array, ZlibOptions, Buffer>(deflate);
const brotliAsync = promisify<Uint8Array, BrotliOptions, Buffer>(brotliCompress);

/**
 * `data` coded whole: at once when it is at most `SYNC_LIMIT` bytes, else on the thread pool.
 * gzip and deflate use zlib's default level, as Python's `zlib.compressobj()` (aiohttp's) does,
 * and the same gzip header (mtime 0, OS byte 3); the coded bytes may differ from Python's, as
 * Node's zlib is Chromium's fork. `deflate` is the zlib format, as HTTP's `deflate` means.
 */
export function codeBody(data: Uint8Array, coding: Compression): Uint8Array | Promise<Uint8Array> {
  if (data.byteLength <= SYNC_LIMIT) {
    if (coding === 'gzip') return gzipSync(data);
    if (coding === 'deflate') return deflateSync(data);
    return brotliCompressSync(data, brotliOptions(data.byteLength));
  }
  if (coding === 'gzip') return gzipAsync(data, {});
  if (coding === 'deflate') return deflateAsync(data, {});
  return brotliAsync(data, brotliOptions(data.byteLength));
}

/** @internal The quality of a streamed brotli body (see BROTLI_QUALITY). */
export function streamBrotliOptions(): BrotliOptions {
  return { params: { [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY } };
}

/** Adds `Accept-Encoding` to `Vary` unless it is there, or `Vary` is `*`. */
export function addVary(headers: Headers): void {
  const vary = headers.get('vary');
  if (vary === null) {
    headers.set('vary', 'Accept-Encoding');
    return;
  }
  for (const name of vary.split(',')) {
    const n = name.trim().toLowerCase();
    if (n === '*' || n === 'accept-encoding') return;
  }
  headers.append('vary', 'Accept-Encoding');
}
