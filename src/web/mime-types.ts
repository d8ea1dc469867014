import { TextDecoder } from 'node:util';
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
// implements these codecs itself, or wraps the platform's decoder, because the platform takes
// several of their names for another codec or has another table under them: WHATWG's
// `latin1`, `iso-8859-1` and `ascii` labels all mean windows-1252, which reads 0x80–0x9F as
// other characters; its `utf-16` is little-endian only (Python's reads a big-endian BOM); its
// `iso-8859-9` and `iso-8859-11` are windows-1254 and windows-874; its windows-125x decode the
// bytes Python's cp125x leave undefined, and Node's ibm866 swaps three ASCII controls. Any other
// charset goes to `TextDecoder` under the name as sent (its WHATWG table, which may differ from
// Python's codec).

/** The codecs weft encodes and decodes as Python does, by Python's canonical names. */
export type Codec =
  | 'utf_8'
  | 'utf_8_sig'
  | 'utf_16'
  | 'utf_16_le'
  | 'utf_16_be'
  | 'latin_1'
  | TableCodec;

/** The single-byte codecs decoded through a table of 256 code points (`tableOf`). */
type TableCodec =
  | 'ascii'
  | 'cp1250'
  | 'cp1251'
  | 'cp1252'
  | 'cp1253'
  | 'cp1254'
  | 'cp1255'
  | 'cp1256'
  | 'cp1257'
  | 'cp1258'
  | 'cp866'
  | 'iso8859_9'
  | 'iso8859_11'
  | 'tis_620';

/** Python's names (after normalisation) of each codec of `Codec`, the codec's own included. */
const CODEC_NAMES: Record<Codec, readonly string[]> = {
  utf_8: ['utf_8', 'u8', 'utf', 'utf8', 'utf8_ucs2', 'utf8_ucs4', 'cp65001'],
  utf_8_sig: ['utf_8_sig'],
  utf_16: ['utf_16', 'utf16', 'u16'],
  utf_16_le: ['utf_16_le', 'utf_16le', 'unicodelittleunmarked'],
  utf_16_be: ['utf_16_be', 'utf_16be', 'unicodebigunmarked'],
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
  cp1250: ['cp1250', 'windows_1250', '1250'],
  cp1251: ['cp1251', 'windows_1251', '1251'],
  cp1252: ['cp1252', 'windows_1252', '1252'],
  cp1253: ['cp1253', 'windows_1253', '1253'],
  cp1254: ['cp1254', 'windows_1254', '1254'],
  cp1255: ['cp1255', 'windows_1255', '1255'],
  cp1256: ['cp1256', 'windows_1256', '1256'],
  cp1257: ['cp1257', 'windows_1257', '1257'],
  cp1258: ['cp1258', 'windows_1258', '1258'],
  cp866: ['cp866', '866', 'csibm866', 'ibm866'],
  iso8859_9: [
    'iso8859_9',
    'iso_8859_9',
    'iso_8859_9_1989',
    'iso_ir_148',
    'l5',
    'latin5',
    'csisolatin5',
  ],
  iso8859_11: ['iso8859_11', 'iso_8859_11', 'iso_8859_11_2001', 'thai'],
  tis_620: ['tis_620', 'tis620', 'tis_620_0', 'tis_620_2529_0', 'tis_620_2529_1', 'iso_ir_166'],
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

// ── Single-byte codecs ───────────────────────────────────────────────────────────────────────
//
// Each is a table of 256 code points (-1: a byte Python's codec leaves undefined), built on
// first use. Bytes below 0x80 are ASCII in all of them, as in Python. cp1252 is written out
// (some Node builds decode `windows-1252` as Latin-1); the others are the platform's table for
// the encoding named in `PLATFORM`, corrected where Python's codec differs from it: Python's
// iso8859_9 and iso8859_11 read 0x80–0x9F as the C1 controls of the same code points (WHATWG
// reads them as windows-1254 and windows-874), and each lists the bytes Python's codec leaves
// undefined that the platform decodes. (Compared byte for byte with CPython 3.11 on Node 20.)

/**
 * Python's cp1252 for 0x80–0x9F (the code point of each byte; -1 for the five bytes it leaves
 * undefined). 0xA0–0xFF are Latin-1.
 */
// biome-ignore format: eight bytes a row
const CP1252_HIGH: readonly number[] = [
  0x20ac, -1, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
  0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, -1, 0x017d, -1,
  -1, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
  0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, -1, 0x017e, 0x0178,
];

/** How Python's codec differs from the platform's encoding `platform` above 0x7F. */
interface PlatformTable {
  platform: string;
  /** Bytes that are the code point of their own value (C1 controls). */
  own?: readonly [number, number];
  /** Bytes Python's codec leaves undefined. */
  undefinedBytes?: readonly number[];
}

const THAI_UNDEFINED = [0xdb, 0xdc, 0xdd, 0xde, 0xfc, 0xfd, 0xfe, 0xff];

const PLATFORM: Record<Exclude<TableCodec, 'ascii' | 'cp1252'>, PlatformTable> = {
  cp1250: { platform: 'windows-1250', undefinedBytes: [0x81, 0x83, 0x88, 0x90, 0x98] },
  cp1251: { platform: 'windows-1251', undefinedBytes: [0x98] },
  cp1253: {
    platform: 'windows-1253',
    undefinedBytes: [
      0x81, 0x88, 0x8a, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x98, 0x9a, 0x9c, 0x9d, 0x9e, 0x9f, 0xaa,
    ],
  },
  cp1254: {
    platform: 'windows-1254',
    undefinedBytes: [0x81, 0x8d, 0x8e, 0x8f, 0x90, 0x9d, 0x9e],
  },
  cp1255: {
    platform: 'windows-1255',
    undefinedBytes: [0x81, 0x8a, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x9a, 0x9c, 0x9d, 0x9e, 0x9f],
  },
  cp1256: { platform: 'windows-1256' },
  cp1257: {
    platform: 'windows-1257',
    undefinedBytes: [0x81, 0x83, 0x88, 0x8a, 0x8c, 0x90, 0x98, 0x9a, 0x9c, 0x9f],
  },
  cp1258: {
    platform: 'windows-1258',
    undefinedBytes: [0x81, 0x8a, 0x8d, 0x8e, 0x8f, 0x90, 0x9a, 0x9d, 0x9e],
  },
  cp866: { platform: 'ibm866' },
  iso8859_9: { platform: 'windows-1254', own: [0x80, 0x9f] },
  iso8859_11: { platform: 'windows-874', own: [0x80, 0x9f], undefinedBytes: THAI_UNDEFINED },
  tis_620: {
    platform: 'windows-874',
    own: [0x80, 0x9f],
    undefinedBytes: [0xa0, ...THAI_UNDEFINED],
  },
};

const tables = new Map<TableCodec, Int32Array>();
const reverseTables = new Map<TableCodec, Map<number, number>>();

/**
 * The 256 code points of `codec` (-1: undefined).
 * @throws {RangeError} the platform has no decoder for the encoding the table is built on
 *   (a Node built without ICU).
 */
function tableOf(codec: TableCodec): Int32Array {
  let t = tables.get(codec);
  if (t !== undefined) return t;
  t = new Int32Array(256);
  for (let i = 0; i < 0x80; i++) t[i] = i;
  if (codec === 'ascii') t.fill(-1, 0x80);
  else if (codec === 'cp1252') {
    for (let i = 0x80; i < 0x100; i++) t[i] = i < 0xa0 ? (CP1252_HIGH[i - 0x80] as number) : i;
  } else {
    const spec = PLATFORM[codec];
    let d: TextDecoder;
    try {
      d = new TextDecoder(spec.platform);
    } catch (e) {
      throw new RangeError(`The platform has no decoder for ${spec.platform}`, { cause: e });
    }
    const high = d.decode(Uint8Array.from({ length: 0x80 }, (_, i) => 0x80 + i));
    if (high.length !== 0x80)
      throw new RangeError(`The platform's ${spec.platform} is not single-byte`);
    for (let i = 0x80; i < 0x100; i++) {
      const c = high.charCodeAt(i - 0x80);
      t[i] = c === 0xfffd ? -1 : c;
    }
    if (spec.own !== undefined) for (let i = spec.own[0]; i <= spec.own[1]; i++) t[i] = i;
    for (const b of spec.undefinedBytes ?? []) t[b] = -1;
  }
  tables.set(codec, t);
  return t;
}

/** Code point → byte of `codec` above 0x7F. */
function reverseOf(codec: TableCodec): Map<number, number> {
  let r = reverseTables.get(codec);
  if (r === undefined) {
    const t = tableOf(codec);
    r = new Map();
    for (let i = 0x80; i < 0x100; i++) if ((t[i] as number) !== -1) r.set(t[i] as number, i);
    reverseTables.set(codec, r);
  }
  return r;
}

const TABLE_CODECS: ReadonlySet<Codec> = new Set<Codec>([
  'ascii',
  'cp1252',
  ...(Object.keys(PLATFORM) as TableCodec[]),
]);

// ── Encoding ─────────────────────────────────────────────────────────────────────────────────

const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/**
 * `text` as the bytes of `charset`, as Python's `text.encode(charset)` (UTF-8 stays a string:
 * Node writes it as such). weft encodes the codecs of `Codec` (`utf-16` with a little-endian
 * BOM, `utf-8-sig` with a UTF-8 one, as Python writes them); text of ASCII characters only goes
 * out as ASCII in any other charset that extends ASCII (ISO-8859-15, Shift_JIS…: the same
 * bytes). A character the charset cannot hold raises, as Python's `str.encode` does (Node would
 * mangle it silently); so does a lone surrogate (`'\ud800'`) in a UTF codec, which Python's
 * refuse ("surrogates not allowed") where Node would send U+FFFD or the raw surrogate.
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
      'weft cannot encode this text in this charset (it knows utf-8, utf-8-sig, utf-16, ' +
        'utf-16-le, utf-16-be, latin-1, ascii, cp1250 to cp1258, cp866, iso-8859-9, iso-8859-11 ' +
        'and tis-620, and ASCII text in any charset that extends ASCII): give the encoded bytes as body instead',
      charset,
    );
  }
  if (codec.startsWith('utf')) {
    if (!text.isWellFormed()) throw unencodable(text, loneSurrogateAt(text), charset);
    if (codec === 'utf_8') return text;
    if (codec === 'utf_8_sig') return Buffer.concat([UTF8_BOM, Buffer.from(text)]);
    if (codec === 'utf_16_le') return Buffer.from(text, 'utf16le');
    if (codec === 'utf_16_be') return Buffer.from(text, 'utf16le').swap16();
    // Python's utf-16 writes a BOM in the machine's order: little-endian here (and on every
    // platform Node 20 runs on).
    const out = Buffer.allocUnsafe(2 + 2 * text.length);
    out[0] = 0xff;
    out[1] = 0xfe;
    out.write(text, 2, 'utf16le');
    return out;
  }
  const max = codec === 'latin_1' ? 0xff : 0x7f;
  let i = firstAbove(text, max);
  if (i === -1) return Buffer.from(text, 'latin1');
  if (codec === 'latin_1' || codec === 'ascii') throw unencodable(text, i, charset);
  const reverse = reverseOf(codec as TableCodec);
  const out = Buffer.allocUnsafe(text.length);
  for (i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const b = c < 0x80 ? c : (reverse.get(c) ?? -1);
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
 * Refuses a string UTF-8 cannot encode (a lone surrogate), as Python's `str.encode` does, where
 * Node would send U+FFFD: a string body or chunk the caller gives, which goes out as UTF-8.
 * @throws {RangeError} naming the character and its index.
 */
export function checkUtf8(text: string): void {
  if (!text.isWellFormed()) throw unencodable(text, loneSurrogateAt(text), 'utf-8');
}

/** The index of the first surrogate of `text` that is not half of a pair. */
function loneSurrogateAt(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    const next = text.charCodeAt(i + 1);
    if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) i++;
    else return i;
  }
  return -1;
}

// ── Decoding ─────────────────────────────────────────────────────────────────────────────────

/**
 * The platform's decoders of the UTF codecs, made once (UTF-8's with the module, the others on
 * first use): a `decode()` without `stream` starts afresh, so one decoder serves every body, one
 * that failed included. A BOM is kept: each codec strips what Python's strips itself.
 */
const UTF8_DECODERS = {
  strict: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }),
  replace: new TextDecoder('utf-8', { ignoreBOM: true }),
} as const;
const utf16Decoders = new Map<string, TextDecoder>();

function utfDecoder(label: string, errors: 'strict' | 'replace'): TextDecoder {
  if (label === 'utf-8') return UTF8_DECODERS[errors];
  const key = `${label} ${errors}`;
  let d = utf16Decoders.get(key);
  if (d === undefined) {
    d = new TextDecoder(label, { fatal: errors === 'strict', ignoreBOM: true });
    utf16Decoders.set(key, d);
  }
  return d;
}

/**
 * `b` decoded as Python's `b.decode(charset, errors)` would: the codecs of `Codec` as Python
 * has them (a BOM stays a character in `utf-8`, `utf-16-le` and `utf-16-be`, as Python keeps
 * it; `utf-8-sig` drops one, and `utf-16` reads one to choose the byte order, little-endian
 * without); another charset through the platform's `TextDecoder` (its WHATWG table). With
 * `errors` `'replace'`, a byte the charset cannot decode becomes U+FFFD. `what` names the body
 * in the error's message.
 * @throws {RangeError} (strict) bytes the charset cannot decode (Python's UnicodeDecodeError);
 *   a charset nothing here knows.
 */
export function decodeText(
  b: Uint8Array,
  charset: string,
  what = 'Response body',
  errors: 'strict' | 'replace' = 'strict',
): string {
  let buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const codec = pythonCodec(charset);
  if (codec === 'latin_1') return buf.toString('latin1');
  if (codec !== null && TABLE_CODECS.has(codec)) {
    let table: Int32Array;
    try {
      table = tableOf(codec as TableCodec);
    } catch (e) {
      throw undecodable(what, charset, (e as Error).message, e);
    }
    return decodeByTable(buf, table, charset, what, errors);
  }
  try {
    let label: string;
    switch (codec) {
      case null:
        return new TextDecoder(charset, { fatal: errors === 'strict' }).decode(buf);
      case 'utf_8':
        label = 'utf-8';
        break;
      case 'utf_8_sig':
        label = 'utf-8';
        if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) buf = buf.subarray(3);
        break;
      case 'utf_16_le':
        label = 'utf-16le';
        break;
      case 'utf_16_be':
        label = 'utf-16be';
        break;
      default:
        // utf_16: a BOM names the order and is dropped; without one, little-endian (the
        // machine's order, which Python's utf-16 takes).
        label = buf[0] === 0xfe && buf[1] === 0xff ? 'utf-16be' : 'utf-16le';
        if ((buf[0] === 0xff && buf[1] === 0xfe) || label === 'utf-16be') buf = buf.subarray(2);
    }
    return utfDecoder(label, errors).decode(buf);
  } catch (e) {
    throw undecodable(what, charset, (e as Error).message, e);
  }
}

/**
 * `buf` through a single-byte table, in one pass over the bytes and no string built per byte:
 * a body of megabytes in a charset the client chose must not hold the event loop (a `s +=` per
 * byte took ~100 ms per MiB).
 */
function decodeByTable(
  buf: Buffer,
  table: Int32Array,
  charset: string,
  what: string,
  errors: 'strict' | 'replace',
): string {
  let firstBad = -1;
  let moved = false; // a byte that is not its own code point
  for (let i = 0; i < buf.length; i++) {
    const x = buf[i] as number;
    if (x < 0x80) continue;
    const c = table[x] as number;
    if (c === -1) {
      if (firstBad === -1) firstBad = i;
    } else if (c !== x) moved = true;
  }
  if (firstBad !== -1 && errors === 'strict') {
    throw undecodable(
      what,
      charset,
      `byte 0x${(buf[firstBad] as number).toString(16)} at ${firstBad}`,
    );
  }
  if (firstBad === -1 && !moved) return buf.toString('latin1');
  const units = new Uint16Array(buf.length);
  for (let i = 0; i < buf.length; i++) {
    const c = table[buf[i] as number] as number;
    units[i] = c === -1 ? 0xfffd : c;
  }
  return Buffer.from(units.buffer, units.byteOffset, units.byteLength).toString('utf16le');
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
