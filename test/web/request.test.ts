/**
 * Request against aiohttp 3.8 (CPython 3.11): each expected value below is what aiohttp's
 * `web.Request` gives for the same raw request.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Application } from '../../src/web/application.js';
import { HTTPBadRequest } from '../../src/web/http-exceptions.js';
import { jsonResponse } from '../../src/web/response.js';
import { checkLeaks } from '../support/leaks.js';
import { raw, serve } from './loopback.js';

checkLeaks();

const get = (target: string, headers = ''): string =>
  `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${headers}\r\n`;

/** The JSON body of a raw response (`raw` gives the bytes as Latin-1). */
const body = (text: string): unknown =>
  JSON.parse(Buffer.from(text.slice(text.indexOf('\r\n\r\n') + 4), 'latin1').toString('utf8'));

describe('request.path and matchInfo', () => {
  it('path keeps escapes that are not UTF-8 as sent and decodes the rest, as yarl', async () => {
    const app = new Application();
    app.router.addGet('/p/{x}', (r) => jsonResponse({ path: r.path, x: r.matchInfo.x }));
    await using s = await serve(app);
    const cases: Array<[string, string]> = [
      // [raw segment, aiohttp's path segment and match_info value]
      ['%C3%A9%E9x', 'é%E9x'],
      ['%e0%a4%a', '%e0%a4%a'],
      ['%ED%A0%80', '%ED%A0%80'],
      ['%C0%AF', '%C0%AF'],
      ['%F0%9F%98%80%F0%9F', '😀%F0%9F'],
      ['a%2Bb+c%25', 'a+b+c%'],
    ];
    for (const [segment, decoded] of cases) {
      const r = await raw(s.port, get(`/p/${segment}`));
      assert.equal(r.status, 200, segment);
      assert.deepEqual(body(r.text), { path: `/p/${decoded}`, x: decoded }, segment);
    }
  });
});

describe('request.text()', () => {
  const app = (): Application => {
    const a = new Application();
    a.router.addPost('/t', async (r) => {
      try {
        return jsonResponse({ t: await r.text() });
      } catch (e) {
        if (!(e instanceof HTTPBadRequest)) throw e;
        return jsonResponse({ error: e.status, cause: (e.cause as Error).name });
      }
    });
    return a;
  };
  const post = async (url: string, charset: string, bytes: number[]): Promise<unknown> => {
    const res = await fetch(`${url}/t`, {
      method: 'POST',
      headers: { 'content-type': `text/plain; charset=${charset}` },
      body: new Uint8Array(bytes),
    });
    return res.json();
  };

  it("decodes in the request's charset as Python does, under Python's names", async () => {
    await using s = await serve(app());
    // Latin-1 byte for code point (not windows-1252), under names WHATWG does not know.
    assert.deepEqual(await post(s.url, 'latin-1', [0x80, 0xe9]), { t: '\u0080é' });
    assert.deepEqual(await post(s.url, 'ISO_8859-1:1987', [0xe9]), { t: 'é' });
    // Python's cp1252.
    assert.deepEqual(await post(s.url, 'windows-1252', [0x80, 0x9f, 0xe9]), { t: '€Ÿé' });
    // A UTF-8 BOM stays a character, as Python's utf-8 keeps it.
    assert.deepEqual(await post(s.url, 'utf_8', [0xef, 0xbb, 0xbf, 0x61]), { t: '\ufeffa' });
  });

  it('raises HTTPBadRequest for bytes the charset cannot decode (aiohttp: UnicodeDecodeError)', async () => {
    await using s = await serve(app());
    const refused = { error: 400, cause: 'RangeError' };
    assert.deepEqual(await post(s.url, 'utf-8', [0x63, 0x61, 0x66, 0xe9]), refused);
    assert.deepEqual(await post(s.url, 'ascii', [0x80]), refused);
    assert.deepEqual(await post(s.url, 'windows-1252', [0x81]), refused);
    assert.deepEqual(await post(s.url, 'no-such-charset', [0x61]), refused);
  });

  it('decodes UTF-8 the same from one request to the next, a failed one between (one shared decoder)', async () => {
    // (helper-118's review) request.text() now decodes UTF-8 with one module-level decoder:
    // a failed decode must not leave state for the next body, and a BOM stays a character.
    await using s = await serve(app());
    const refused = { error: 400, cause: 'RangeError' };
    assert.deepEqual(await post(s.url, 'utf-8', [0x61, 0xe2, 0x82]), refused);
    assert.deepEqual(await post(s.url, 'utf-8', [0xac, 0x62]), refused);
    assert.deepEqual(await post(s.url, 'UTF-8', [0xe2, 0x82, 0xac]), { t: '€' });
    assert.deepEqual(await post(s.url, 'utf-8', [0xef, 0xbb, 0xbf, 0x61]), { t: '\ufeffa' });
    assert.deepEqual(await post(s.url, 'utf-8', [0xed, 0xa0, 0x80]), refused); // a surrogate
    assert.deepEqual(await post(s.url, 'utf8', [0xf0, 0x9f, 0x98, 0x80]), { t: '😀' });
  });

  it('answers 400 when the handler does not catch it', async () => {
    const a = new Application();
    a.router.addPost('/t', async (r) => jsonResponse({ t: await r.text() }));
    await using s = await serve(a);
    const res = await fetch(`${s.url}/t`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: new Uint8Array([0xff]),
    });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /Request body cannot be decoded as utf-8/);
  });
});

describe('request conditional headers', () => {
  it('ifModifiedSince, ifUnmodifiedSince and ifRange are dates, as aiohttp', async () => {
    const app = new Application();
    app.router.addGet('/d', (r) =>
      jsonResponse({
        ims: r.ifModifiedSince?.toISOString() ?? null,
        ius: r.ifUnmodifiedSince?.toISOString() ?? null,
        ir: r.ifRange?.toISOString() ?? null,
      }),
    );
    await using s = await serve(app);
    const ask = async (headers: string): Promise<unknown> =>
      body((await raw(s.port, get('/d', headers))).text);
    const t = '2015-10-21T07:28:00.000Z';
    assert.deepEqual(await ask('If-Modified-Since: Wed, 21 Oct 2015 07:28:00 GMT\r\n'), {
      ims: t,
      ius: null,
      ir: null,
    });
    assert.deepEqual(
      await ask(
        'If-Unmodified-Since: Wednesday, 21-Oct-15 07:28:00 GMT\r\nIf-Range: Wed Oct 21 07:28:00 2015\r\n',
      ),
      { ims: null, ius: t, ir: t },
    );
    // A four-digit year below 100 is taken as Python takes it, by value (aiohttp: 2001).
    assert.deepEqual(await ask('If-Modified-Since: Sun, 06 Nov 0001 08:49:37 GMT\r\n'), {
      ims: '2001-11-06T08:49:37.000Z',
      ius: null,
      ir: null,
    });
    // Not a date (Python's parsedate gives None): an entity tag, garbage, an impossible day.
    assert.deepEqual(
      await ask(
        'If-Range: "abc"\r\nIf-Modified-Since: yesterday\r\nIf-Unmodified-Since: Sat, 31 Feb 2015 07:28:00 GMT\r\n',
      ),
      { ims: null, ius: null, ir: null },
    );
  });
});

describe('clientMaxSize', () => {
  it("answers 413 with aiohttp's reason and text, for a declared and a chunked body", async () => {
    const app = new Application({ clientMaxSize: 100 });
    app.router.addPost('/r', async (r) => jsonResponse({ n: (await r.read()).length }));
    await using s = await serve(app);
    const declared = await raw(
      s.port,
      `POST /r HTTP/1.1\r\nHost: x\r\nContent-Length: 150\r\n\r\n${'x'.repeat(150)}`,
    );
    assert.match(
      declared.text,
      /^HTTP\/1\.1 413 Request Entity Too Large\r\n[\s\S]*\r\n\r\nMaximum request body size 100 exceeded, actual body size 150$/,
    );
    const chunked = await raw(
      s.port,
      `POST /r HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\na0\r\n${'y'.repeat(160)}\r\n0\r\n\r\n`,
    );
    assert.match(
      chunked.text,
      /\r\n\r\nMaximum request body size 100 exceeded, actual body size 160$/,
    );
  });

  it('0 is no limit, as aiohttp (`if self._client_max_size:`)', async () => {
    // (helper-118's review) weft answered 413 to any body.
    const app = new Application({ clientMaxSize: 0 });
    app.router.addPost('/r', async (r) => jsonResponse({ n: (await r.read()).length }));
    await using s = await serve(app);
    const declared = await raw(
      s.port,
      `POST /r HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 3000000\r\n\r\n${'x'.repeat(3_000_000)}`,
    );
    assert.equal(declared.status, 200);
    assert.match(declared.text, /\r\n\r\n\{"n":3000000\}$/);
    const chunked = await raw(
      s.port,
      `POST /r HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
    );
    assert.match(chunked.text, /\r\n\r\n\{"n":5\}$/);
  });
});
