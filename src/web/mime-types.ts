import { argumentError, rangeError } from '../internal/errors.js';

/**
 * Content types by file extension for `FileResponse` and static files: the common web types
 * (the subset of the IANA registry that browsers act on). Unknown extensions are sent as
 * `application/octet-stream`, which browsers download rather than render — the safe default.
 */
const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  htm: 'text/html; charset=utf-8',
  css: 'text/css; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  mjs: 'text/javascript; charset=utf-8',
  json: 'application/json',
  map: 'application/json',
  txt: 'text/plain; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  xml: 'application/xml',
  svg: 'image/svg+xml',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  avif: 'image/avif',
  ico: 'image/vnd.microsoft.icon',
  bmp: 'image/bmp',
  woff: 'font/woff',
  woff2: 'font/woff2',
  ttf: 'font/ttf',
  otf: 'font/otf',
  pdf: 'application/pdf',
  zip: 'application/zip',
  gz: 'application/gzip',
  tar: 'application/x-tar',
  wasm: 'application/wasm',
  mp3: 'audio/mpeg',
  wav: 'audio/wav',
  ogg: 'audio/ogg',
  mp4: 'video/mp4',
  webm: 'video/webm',
};

/** The `charset` parameter of a Content-Type (as sent, quotes dropped), or null. */
export function charsetOf(type: string | null | undefined): string | null {
  if (type === null || type === undefined) return null;
  const m = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(type);
  return m === null ? null : (m[1] as string);
}

/** The content type for `path`'s extension (case-insensitive). */
export function contentTypeFor(path: string): string {
  const slash = path.lastIndexOf('/');
  const dot = path.lastIndexOf('.');
  if (dot <= slash + 1) return 'application/octet-stream';
  return TYPES[path.slice(dot + 1).toLowerCase()] ?? 'application/octet-stream';
}

// ── Charsets ─────────────────────────────────────────────────────────────────────────────────
//
// A charset named in a Content-Type is looked up as Python's codecs registry looks it up
// (aiohttp encodes and decodes with `str.encode(charset)` / `bytes.decode(charset)`): the name
// is normalised (`normalizeCodecName`), then found among the aliases of the codecs below. weft
// implements these few codecs itself because the platform's decoder takes several of their
// names for another one: WHATWG's `latin1`, `iso-8859-1` and `ascii` labels all mean
// windows-1252, which reads 0x80–0x9F as other characters, and its windows-1252 decodes the
// five bytes Python's cp1252 leaves undefined. Any other charset goes to `TextDecoder` under
// the name as sent (its WHATWG table, which may differ from Python's codec).

/** The codecs weft encodes and decodes as Python does, by Python's canonical names. */
export type Codec = 'utf_8' | 'latin_1' | 'ascii' | 'utf_16_le' | 'cp1252';

/** Python's names (after normalisation) of each codec of `Codec`, the codec's own included. */
const CODEC_NAMES: Record<Codec, readonly string[]> = {
  utf_8: ['utf_8', 'u8', 'utf', 'utf8', 'utf8_ucs2', 'utf8_ucs4', 'cp65001'],
  latin_1: [
    'latin_1',
    'latin',
    'latin1',
    'l1',
    'iso8859',
    'iso8859_1',
    'iso_8859_1',
    'iso_8859_1_1987',
    '8859',
    'cp819',
    'ibm819',
    'iso_ir_100',
    'csisolatin1',
  ],
  ascii: [
    'ascii',
    'us_ascii',
    'us',
    '646',
    'ansi_x3.4_1968',
    'ansi_x3_4_1968',
    'ansi_x3.4_1986',
    'cp367',
    'csascii',
    'ibm367',
    'iso646_us',
    'iso_646.irv_1991',
    'iso_ir_6',
  ],
  utf_16_le: ['utf_16_le', 'utf_16le', 'unicodelittleunmarked'],
  cp1252: ['cp1252', 'windows_1252', '1252'],
};

const CODECS = new Map<string, Codec>();
for (const [codec, names] of Object.entries(CODEC_NAMES) as [Codec, readonly string[]][]) {
  for (const n of names) CODECS.set(n, codec);
}

/**
 * `name` as Python's codecs registry normalises it before a lookup: lower-cased; each run of
 * characters other than ASCII letters, digits and `.` becomes one `_`, dropped at either end
 * (other letters and digits are dropped without separating).
 */
export function normalizeCodecName(name: string): string {
  let out = '';
  let gap = false;
  for (const c of name.toLowerCase()) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c === '.') {
      if (gap && out !== '') out += '_';
      out += c;
      gap = false;
    } else if (/^[\p{L}\p{N}]$/u.test(c)) gap = false;
    else gap = true;
  }
  return out;
}

/** Lookups already made, by the name as given (a response's charset is looked up per send). */
const looked = new Map<string, Codec | null>([['utf-8', 'utf_8']]);
/** Tuning: the names remembered, a bound so that names a client sends cannot grow the map. */
const LOOKED_MAX = 64;

/** The codec of `Codec` that Python knows under `charset`, or null (another one, or none). */
export function pythonCodec(charset: string): Codec | null {
  let codec = looked.get(charset);
  if (codec !== undefined) return codec;
  const n = normalizeCodecName(charset);
  codec = CODECS.get(n) ?? CODECS.get(n.replaceAll('.', '_')) ?? null;
  if (looked.size < LOOKED_MAX) looked.set(charset, codec);
  return codec;
}

/**
 * Python's cp1252 for 0x80–0x9F (the code point of each byte; -1 for the five bytes it leaves
 * undefined). 0xA0–0xFF are Latin-1. Written out rather than read from the platform's
 * `TextDecoder('windows-1252')`, which some Node builds decode as Latin-1.
 */
// biome-ignore format: eight bytes a row
const CP1252_HIGH: readonly number[] = [
  0x20ac, -1, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
  0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, -1, 0x017d, -1,
  -1, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
  0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, -1, 0x017e, 0x0178,
];
const CP1252_ENCODE = new Map<number, number>(
  CP1252_HIGH.flatMap((c, i): [number, number][] => (c === -1 ? [] : [[c, 0x80 + i]])),
);

/**
 * `text` as the bytes of `charset`, as Python's `text.encode(charset)` (UTF-8 stays a string:
 * Node writes it as such). weft encodes the codecs of `Codec`; text of ASCII characters only
 * goes out as ASCII in any other charset that extends ASCII (ISO-8859-15, Shift_JIS…: the same
 * bytes). A character the charset cannot hold raises, as Python's `str.encode` does (Node would
 * mangle it silently).
 * @throws {RangeError} such a character, or other text in a charset weft cannot encode in.
 */
export function encodeText(text: string, charset: string): string | Buffer {
  if (typeof charset !== 'string')
    throw argumentError('Response charset must be a string', charset);
  const codec = pythonCodec(charset);
  if (codec === null) {
    // A charset the platform knows (its WHATWG name), other than UTF-16 (whose ASCII is not one
    // byte a character) and `replacement`, extends ASCII: ASCII text is the same bytes there.
    if (firstAbove(text, 0x7f) === -1 && extendsAscii(charset)) return text;
    throw rangeError(
      'weft cannot encode this text in this charset (it knows utf-8, latin-1, ascii, cp1252 ' +
        'and utf-16-le, and ASCII text in any charset that extends ASCII): give the encoded bytes as body instead',
      charset,
    );
  }
  if (codec === 'utf_8') return text;
  if (codec === 'utf_16_le') return Buffer.from(text, 'utf16le');
  const max = codec === 'latin_1' ? 0xff : 0x7f;
  let i = firstAbove(text, max);
  if (i === -1) return Buffer.from(text, 'latin1');
  if (codec !== 'cp1252') throw unencodable(text, i, charset);
  const out = Buffer.allocUnsafe(text.length);
  for (i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const b = c < 0x80 || (c >= 0xa0 && c <= 0xff) ? c : (CP1252_ENCODE.get(c) ?? -1);
    if (b === -1) throw unencodable(text, i, charset);
    out[i] = b;
  }
  return out;
}

function unencodable(text: string, i: number, charset: string): RangeError {
  return new RangeError(
    `Response text holds a character that charset ${charset} cannot encode ` +
      `(U+${text.charCodeAt(i).toString(16).toUpperCase().padStart(4, '0')} at index ${i})`,
  );
}

/**
 * `b` decoded as Python's `b.decode(charset, errors)` would: the codecs of `Codec` as Python
 * has them (a BOM stays a character, as Python's `utf-8` and `utf-16-le` keep it); another
 * charset through the platform's `TextDecoder` (its WHATWG table). With `errors` `'replace'`,
 * a byte the charset cannot decode becomes U+FFFD. `what` names the body in the error's message.
 * @throws {RangeError} (strict) bytes the charset cannot decode (Python's UnicodeDecodeError);
 *   a charset nothing here knows.
 */
export function decodeText(
  b: Uint8Array,
  charset: string,
  what = 'Response body',
  errors: 'strict' | 'replace' = 'strict',
): string {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const codec = pythonCodec(charset);
  if (codec === 'latin_1') return buf.toString('latin1');
  if (codec === 'ascii' || codec === 'cp1252') {
    // One pass over the bytes, no string built per byte: a body of megabytes in a charset the
    // client chose must not hold the event loop (a `s +=` per byte took ~100 ms per MiB).
    let firstBad = -1;
    let high = false; // a byte that is not its own code point (cp1252's 0x80-0x9F)
    for (let i = 0; i < buf.length; i++) {
      const x = buf[i] as number;
      if (x < 0x80) continue;
      if (codec === 'ascii' || CP1252_HIGH[x - 0x80] === -1) {
        if (firstBad === -1) firstBad = i;
      } else if (x < 0xa0) high = true;
    }
    if (firstBad !== -1 && errors === 'strict') {
      throw undecodable(
        what,
        charset,
        `byte 0x${(buf[firstBad] as number).toString(16)} at ${firstBad}`,
      );
    }
    if (firstBad === -1 && !high) return buf.toString('latin1');
    const units = new Uint16Array(buf.length);
    for (let i = 0; i < buf.length; i++) {
      const x = buf[i] as number;
      units[i] =
        x < 0x80
          ? x
          : codec === 'ascii'
            ? 0xfffd
            : x >= 0xa0
              ? x
              : (CP1252_HIGH[x - 0x80] as number) === -1
                ? 0xfffd
                : (CP1252_HIGH[x - 0x80] as number);
    }
    return Buffer.from(units.buffer, units.byteOffset, units.byteLength).toString('utf16le');
  }
  try {
    const label = codec === 'utf_8' ? 'utf-8' : codec === 'utf_16_le' ? 'utf-16le' : charset;
    return new TextDecoder(label, { fatal: errors === 'strict', ignoreBOM: codec !== null }).decode(
      buf,
    );
  } catch (e) {
    throw undecodable(what, charset, (e as Error).message, e);
  }
}

function undecodable(what: string, charset: string, detail: string, cause?: unknown): RangeError {
  return new RangeError(`${what} cannot be decoded as ${charset}: ${detail}`, { cause });
}

/** Whether `charset` names an encoding the platform knows that extends ASCII. */
function extendsAscii(charset: string): boolean {
  let name: string;
  try {
    name = new TextDecoder(charset).encoding;
  } catch {
    return false; // no such charset
  }
  return name !== 'utf-16le' && name !== 'utf-16be' && name !== 'replacement';
}

/** The index of the first UTF-16 unit of `text` above `max`, or -1. */
function firstAbove(text: string, max: number): number {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > max) return i;
  return -1;
}
