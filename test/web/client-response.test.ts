import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Application } from '../../src/web/application.js';
import { ClientSession } from '../../src/web/client-session.js';
import { ClientResponseError, TooManyRedirects } from '../../src/web/errors.js';
import { Response } from '../../src/web/response.js';
import { checkLeaks } from '../support/leaks.js';
import { serve } from './loopback.js';

checkLeaks();

/** `/bytes?cs=…&hex=…` answers the bytes `hex` as `text/plain; charset=cs`. */
function bytesApp(): Application {
  const a = new Application();
  a.router.addGet('/bytes', (r) => {
    const q = r.query;
    return new Response({
      body: Buffer.from(q.get('hex') ?? '', 'hex'),
      headers: { 'content-type': `${q.get('type') ?? 'text/plain'}; charset=${q.get('cs')}` },
    });
  });
  return a;
}

describe('ClientResponse decoding', () => {
  it('text and json ignore a charset that has no decoder and read UTF-8, as aiohttp', async () => {
    await using s = await serve(bytesApp());
    await using session = new ClientSession({ baseUrl: s.url });
    const r = await session.get('/bytes', { params: { cs: 'x-no-such-charset', hex: '68c3a9' } });
    assert.equal(await r.text(), 'h\u00e9');
    const j = await session.get('/bytes', {
      params: { cs: 'bogus', hex: '7b2261223a22c3a9227d', type: 'application/json' },
    });
    assert.deepEqual(await j.json(), { a: '\u00e9' });
    // An encoding the caller names is not second-guessed.
    await assert.rejects(r.text('x-no-such-charset'), RangeError);
  });

  it("latin-1 is Python's: each byte is the code point of its value", async () => {
    await using s = await serve(bytesApp());
    await using session = new ClientSession({ baseUrl: s.url });
    for (const cs of ['latin-1', 'ISO-8859-1', 'latin1', 'iso_8859_1']) {
      const r = await session.get('/bytes', { params: { cs, hex: '809fe9' } });
      assert.equal(await r.text(), '\u0080\u009f\u00e9', cs);
    }
    const r = await session.get('/bytes', { params: { cs: 'utf-8', hex: '809fe9' } });
    assert.equal(await r.text('latin-1'), '\u0080\u009f\u00e9');
  });
  it("windows-1252 is Python's cp1252 (this Node's TextDecoder reads it as Latin-1); a UTF-8 BOM stays", async () => {
    await using s = await serve(bytesApp());
    await using session = new ClientSession({ baseUrl: s.url });
    // aiohttp 3.8: '€“Ÿ'; its five undefined bytes are a UnicodeDecodeError, or U+FFFD.
    const r = await session.get('/bytes', { params: { cs: 'windows-1252', hex: '80939f' } });
    assert.equal(await r.text(), '\u20ac\u201c\u0178');
    const u = await session.get('/bytes', { params: { cs: 'cp1252', hex: '4181' } });
    await assert.rejects(u.text(), RangeError);
    assert.equal(await u.text(undefined, 'replace'), 'A\ufffd');
    // A charset only Python names (utf-8-sig, u16) is decoded as Python's, not ignored.
    const sig = await session.get('/bytes', { params: { cs: 'utf-8-sig', hex: 'efbbbf6869' } });
    assert.equal(await sig.text(), 'hi');
    const u16 = await session.get('/bytes', { params: { cs: 'u16', hex: 'fffe6100' } });
    assert.equal(await u16.text(), 'a');
    // Python's utf-8 keeps a byte-order mark as U+FEFF.
    const b = await session.get('/bytes', { params: { cs: 'utf-8', hex: 'efbbbf6869' } });
    assert.equal(await b.text(), '\ufeffhi');
  });
});

describe("ClientResponseError carries the request and the redirects, as aiohttp's request_info and history", () => {
  /** `/hop/n` redirects to `/hop/n-1`; `/hop/0` answers 404. */
  function hopsApp(): Application {
    const a = new Application();
    a.router.addGet('/hop/{n}', (r) => {
      const n = Number(r.matchInfo.n);
      if (n === 0) return new Response({ status: 404, text: 'gone' });
      return new Response({ status: 302, headers: { location: `/hop/${n - 1}` } });
    });
    return a;
  }

  it('raiseForStatus: the request as sent (headers included) and the redirect responses', async () => {
    await using s = await serve(hopsApp());
    await using session = new ClientSession({ baseUrl: s.url, headers: { 'x-session': 'yes' } });
    const r = await session.get('/hop/2', { headers: { 'X-Request': 'one' } });
    let err: unknown = null;
    try {
      r.raiseForStatus();
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof ClientResponseError);
    assert.equal(err.status, 404);
    assert.equal(err.requestInfo?.method, 'GET');
    assert.equal(err.requestInfo?.url.pathname, '/hop/0');
    assert.equal(err.requestInfo?.realUrl.href, err.requestInfo?.url.href);
    assert.equal(err.requestInfo?.headers.get('x-session'), 'yes');
    assert.equal(err.requestInfo?.headers.get('x-request'), 'one');
    assert.match(err.requestInfo?.headers.get('user-agent') ?? '', /weft/);
    assert.deepEqual(
      err.history.map((h) => [h.status, h.url.pathname]),
      [
        [302, '/hop/2'],
        [302, '/hop/1'],
      ],
    );
    assert.equal(r.requestInfo, err.requestInfo);
  });

  it('TooManyRedirects: the first request, and every redirect response', async () => {
    await using s = await serve(hopsApp());
    await using session = new ClientSession({ baseUrl: s.url });
    let err: unknown = null;
    try {
      await session.get('/hop/5', { maxRedirects: 2 });
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof TooManyRedirects);
    assert.equal(err.requestInfo?.url.pathname, '/hop/5');
    assert.deepEqual(
      err.history.map((h) => h.url.pathname),
      ['/hop/5', '/hop/4', '/hop/3'],
    );
  });
});
