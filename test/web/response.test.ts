/**
 * Response's text in a charset against aiohttp 3.8's `web.Response(text=…, charset=…)`, which
 * encodes and decodes with Python's codecs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Response } from '../../src/web/response.js';

const hex = (r: Response): string => Buffer.from(r.body as Uint8Array).toString('hex');

describe('Response text in a charset', () => {
  it("encodes and decodes Python's cp1252 (windows-1252)", () => {
    // aiohttp 3.8: body e9809f and 8283.
    const w = new Response({ text: 'é€Ÿ', charset: 'windows-1252' });
    assert.equal(hex(w), 'e9809f');
    assert.equal(w.text, 'é€Ÿ');
    assert.equal(hex(new Response({ text: '‚ƒ', charset: 'cp1252' })), '8283');
    // A character cp1252 cannot hold (UnicodeEncodeError), a byte it leaves undefined
    // (UnicodeDecodeError).
    assert.throws(() => new Response({ text: 'Ā', charset: 'windows-1252' }), RangeError);
    const u = new Response({
      body: Buffer.from([0x81]),
      contentType: 'text/plain',
      charset: 'windows-1252',
    });
    assert.throws(() => u.text, RangeError);
  });

  it('knows every Python name of latin-1 and ascii, however it is spelled', () => {
    for (const [charset, text, bytes] of [
      ['latin', 'é', 'e9'],
      ['IBM819', 'é', 'e9'],
      ['ISO_8859-1:1987', 'ÿ', 'ff'],
      ['L1', 'é', 'e9'],
      ['us', 'a', '61'],
    ] as const) {
      const r = new Response({ text, charset });
      assert.equal(hex(r), bytes, charset);
      assert.equal(r.contentType, `text/plain; charset=${charset}`);
      assert.equal(r.text, text);
    }
    assert.throws(() => new Response({ text: 'é', charset: 'us' }), RangeError);
    // Latin-1 decodes byte for code point under a name WHATWG does not know.
    const l = new Response({
      body: Buffer.from([0x80, 0xe9]),
      contentType: 'text/plain',
      charset: 'latin',
    });
    assert.equal(l.text, '\u0080é');
  });
});
