/**
 * The charsets of mime-types.ts against CPython 3.11's codecs, which aiohttp 3.8 encodes and
 * decodes with (`text.encode(charset)`, `body.decode(charset)`): each expected value is what
 * Python gives for the same bytes or text.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Application } from '../../src/web/application.js';
import { decodeText, encodeText } from '../../src/web/mime-types.js';
import { jsonResponse, Response } from '../../src/web/response.js';
import { StreamResponse } from '../../src/web/stream-response.js';
import { checkLeaks } from '../support/leaks.js';
import { raw, serve } from './loopback.js';

checkLeaks();

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);
const hex = (v: string | Buffer): string =>
  (typeof v === 'string' ? Buffer.from(v) : v).toString('hex');

describe('utf-16, utf-16-be and utf-8-sig', () => {
  it('utf-16 reads a BOM for the byte order and drops it, little-endian without one', () => {
    // (helper-118's review) The platform's utf-16 is little-endian only: FE FF 00 61 came out
    // as two other characters.
    for (const name of ['utf-16', 'UTF16', 'u16']) {
      assert.equal(decodeText(bytes(0xfe, 0xff, 0x00, 0x61), name), 'a', name);
      assert.equal(decodeText(bytes(0xff, 0xfe, 0x61, 0x00), name), 'a', name);
      assert.equal(decodeText(bytes(0x61, 0x00), name), 'a', name);
    }
    // Only the first BOM is read: a second is a character.
    assert.equal(decodeText(bytes(0xfe, 0xff, 0xfe, 0xff, 0x00, 0x61), 'utf-16'), '\ufeffa');
    assert.equal(decodeText(bytes(0xfe, 0xff), 'utf-16'), '');
    // An odd byte is Python's "truncated data"; replaced, one U+FFFD.
    assert.throws(() => decodeText(bytes(0xfe, 0xff, 0x00), 'utf-16'), RangeError);
    assert.equal(decodeText(bytes(0xfe, 0xff, 0x00), 'utf-16', 'x', 'replace'), '\ufffd');
  });

  it('utf-16-be and utf-16-le keep a BOM as a character; utf-8-sig drops one', () => {
    for (const name of ['utf-16-be', 'UTF-16BE', 'UnicodeBigUnmarked']) {
      assert.equal(decodeText(bytes(0xfe, 0xff, 0x00, 0x61), name), '\ufeffa', name);
    }
    assert.equal(decodeText(bytes(0xff, 0xfe, 0x61, 0x00), 'utf-16-le'), '\ufeffa');
    const sig = bytes(0xef, 0xbb, 0xbf, 0x61, 0xef, 0xbb, 0xbf, 0x62);
    assert.equal(decodeText(sig, 'utf-8-sig'), 'a\ufeffb');
    assert.equal(decodeText(sig, 'utf_8_sig'), 'a\ufeffb');
    assert.equal(decodeText(bytes(0x61), 'utf-8-sig'), 'a');
    assert.throws(() => decodeText(bytes(0xef, 0xbb), 'utf-8-sig'), RangeError);
  });

  it("encodes as Python's codecs: utf-16 with a little-endian BOM, utf-8-sig with its BOM", () => {
    // aiohttp 3.8: Response(text='a', charset=…).body is fffe6100, 0061, efbbbf61.
    assert.equal(hex(encodeText('a', 'utf-16')), 'fffe6100');
    assert.equal(hex(encodeText('', 'utf-16')), 'fffe');
    assert.equal(hex(encodeText('a€', 'utf-16-be')), '006120ac');
    assert.equal(hex(encodeText('a', 'utf-8-sig')), 'efbbbf61');
    const r = new Response({ text: 'a', charset: 'utf-16' });
    assert.equal(hex(Buffer.from(r.body as Uint8Array)), 'fffe6100');
    assert.equal(r.contentType, 'text/plain; charset=utf-16');
    assert.equal(r.text, 'a');
  });

  it('request.text() reads a big-endian utf-16 body, as aiohttp', async () => {
    const app = new Application();
    app.router.addPost('/t', async (r) => jsonResponse({ text: await r.text() }));
    await using s = await serve(app);
    const head =
      'POST /t HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-16\r\nContent-Length: 6\r\n\r\n';
    const r = await raw(s.port, [head, Buffer.from([0xfe, 0xff, 0x00, 0x68, 0x00, 0x69])]);
    assert.equal(r.status, 200);
    assert.match(r.text, /\r\n\r\n\{"text":"hi"\}$/);
  });
});

describe('lone surrogates', () => {
  it('a UTF codec refuses a lone surrogate with RangeError, as Python (surrogates not allowed)', () => {
    // (helper-118's review) UTF-8 went out as EF BF BD, UTF-16LE as the raw surrogate.
    for (const name of ['utf-8', 'utf-8-sig', 'utf-16', 'utf-16-le', 'utf-16-be']) {
      for (const text of ['\ud800', 'a\udc00b', 'x\ud83d']) {
        assert.throws(() => encodeText(text, name), RangeError, `${name} ${JSON.stringify(text)}`);
      }
      // A pair is one character.
      assert.doesNotThrow(() => encodeText('\ud83d\ude00', name));
    }
    assert.throws(() => encodeText('ok\ud83d\ude00\udc00', 'utf-8'), /U\+DC00 at index 4/);
    assert.throws(() => new Response({ text: '\ud800' }), RangeError);
    // aiohttp's str body is UTF-8 text: the same UnicodeEncodeError.
    assert.throws(() => new Response({ body: '\ud800' }), RangeError);
    const r = new Response({ text: 'a' });
    assert.throws(() => {
      r.text = 'b\udfff';
    }, RangeError);
    assert.equal(r.text, 'a');
  });

  it('StreamResponse.write refuses a string with a lone surrogate and sends nothing of it', async () => {
    const app = new Application({ onError: () => {} });
    app.router.addGet('/w', async (req) => {
      const resp = new StreamResponse();
      await resp.prepare(req);
      await resp.write('a');
      await assert.rejects(resp.write('\ud800'), RangeError);
      await assert.rejects(resp.writeEof('x\udc00'), RangeError);
      await resp.writeEof('b');
      return resp;
    });
    await using s = await serve(app);
    const r = await raw(s.port, 'GET /w HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.equal(r.status, 200);
    // The chunked body, whatever chunks Node made of the two writes (Node 24 joins them).
    let rest = r.text.slice(r.text.indexOf('\r\n\r\n') + 4);
    let body = '';
    for (;;) {
      const eol = rest.indexOf('\r\n');
      const size = Number.parseInt(rest.slice(0, eol), 16);
      if (size === 0) break;
      body += rest.slice(eol + 2, eol + 2 + size);
      rest = rest.slice(eol + 2 + size + 2);
    }
    assert.equal(body, 'ab');
  });
});

describe('single-byte codecs the platform has under another table', () => {
  it('iso-8859-9 and iso-8859-11 read 0x80-0x9F as C1 controls (not windows-1254 and -874)', () => {
    for (const name of ['iso-8859-9', 'latin5', 'l5', 'ISO_8859-9:1989']) {
      assert.equal(decodeText(bytes(0x80, 0xd0, 0xfd), name), '\u0080Ğı', name);
    }
    assert.equal(hex(encodeText('Ğış', 'latin5')), 'd0fdfe');
    assert.throws(() => encodeText('€', 'iso-8859-9'), RangeError);
    assert.equal(decodeText(bytes(0x80, 0xa0, 0xa1), 'iso-8859-11'), '\u0080\u00a0ก');
    // tis-620 has no 0xA0; both leave 0xDB-0xDE and 0xFC-0xFF undefined.
    assert.equal(decodeText(bytes(0xa1), 'tis-620'), 'ก');
    assert.throws(() => decodeText(bytes(0xa0), 'tis-620'), RangeError);
    assert.throws(() => decodeText(bytes(0xdb), 'iso-8859-11'), RangeError);
  });

  it("cp125x leave undefined the bytes Python's codecs leave undefined", () => {
    for (const [name, b] of [
      ['cp1251', 0x98],
      ['windows-1250', 0x81],
      ['windows_1253', 0xaa],
      ['1257', 0x9f],
    ] as const) {
      assert.throws(() => decodeText(bytes(0x61, b), name), RangeError, name);
      assert.equal(decodeText(bytes(0x61, b), name, 'x', 'replace'), 'a\ufffd', name);
    }
    assert.equal(decodeText(bytes(0xcf, 0xf0, 0xe8), 'windows-1251'), 'При');
    assert.equal(hex(encodeText('Привет', 'windows-1251')), 'cff0e8e2e5f2');
  });

  it('cp866 keeps the ASCII controls that the platform swaps', () => {
    assert.equal(decodeText(bytes(0x1a, 0x1c, 0x7f, 0x80), 'cp866'), '\u001a\u001c\u007fА');
    assert.equal(decodeText(bytes(0x1a, 0x1c, 0x7f, 0x80), 'IBM866'), '\u001a\u001c\u007fА');
  });
});
