/**
 * Reading a ClientResponse's body as aiohttp 3.8 does: text() and json() decode strictly in an
 * encoding that is given or named (Python's UnicodeDecodeError is RangeError here), and reads
 * made at the same time share the one body.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Application } from '../../src/web/application.js';
import { ClientSession } from '../../src/web/client-session.js';
import { Response } from '../../src/web/response.js';
import { StreamResponse } from '../../src/web/stream-response.js';
import { checkLeaks } from '../support/leaks.js';
import { serve } from './loopback.js';

checkLeaks();

/** `/bytes?hex=…&type=…` answers the bytes `hex` with that Content-Type (none when absent). */
function app(): Application {
  const a = new Application();
  a.router.addGet('/bytes', (r) => {
    const type = r.query.get('type');
    return new Response({
      body: Buffer.from(r.query.get('hex') ?? '', 'hex'),
      headers: type === null ? {} : { 'content-type': type },
    });
  });
  // 200 000 bytes in two writes: a reader is still waiting when the second read starts.
  a.router.addGet('/two-parts', async (req) => {
    const r = new StreamResponse();
    r.contentLength = 200_000;
    await r.prepare(req);
    await r.write(Buffer.alloc(1000, 'a'));
    await new Promise((done) => setTimeout(done, 50));
    await r.write(Buffer.alloc(199_000, 'b'));
    await r.writeEof();
    return r;
  });
  return a;
}

const BAD_UTF8 = '61ff62'; // "a", a byte no UTF-8 sequence starts with, "b"

describe('ClientResponse text() and json() decode as aiohttp', () => {
  it("text() in a charset the response names raises RangeError on bytes it cannot decode (aiohttp's UnicodeDecodeError)", async () => {
    await using s = await serve(app());
    await using session = new ClientSession({ baseUrl: s.url });
    const named = await session.get('/bytes', {
      params: { hex: BAD_UTF8, type: 'text/plain; charset=utf-8' },
    });
    await assert.rejects(named.text(), RangeError);
    // The bytes were read: replacing is still possible, and only when asked.
    assert.equal(await named.text(undefined, 'replace'), 'a\ufffdb');
    const given = await session.get('/bytes', { params: { hex: BAD_UTF8, type: 'text/plain' } });
    await assert.rejects(given.text('utf-8'), RangeError);
  });

  it('text() without a charset falls back to UTF-8 and replaces what it cannot decode; errors "strict" raises', async () => {
    await using s = await serve(app());
    await using session = new ClientSession({ baseUrl: s.url });
    const r = await session.get('/bytes', { params: { hex: BAD_UTF8, type: 'text/plain' } });
    assert.equal(await r.text(), 'a\ufffdb');
    await assert.rejects(r.text(undefined, 'strict'), RangeError);
    await assert.rejects(r.text(undefined, 'ignore' as never), RangeError);
  });

  it("us-ascii is Python's 7-bit ASCII, not windows-1252", async () => {
    await using s = await serve(app());
    await using session = new ClientSession({ baseUrl: s.url });
    const r = await session.get('/bytes', {
      params: { hex: '41e9', type: 'text/plain; charset=us-ascii' },
    });
    await assert.rejects(r.text(), RangeError);
    assert.equal(await r.text(undefined, 'replace'), 'A\ufffd');
    const ok = await session.get('/bytes', {
      params: { hex: '4142', type: 'text/plain; charset=ascii' },
    });
    assert.equal(await ok.text(), 'AB');
  });

  it('json() decodes strictly, with or without a charset', async () => {
    await using s = await serve(app());
    await using session = new ClientSession({ baseUrl: s.url });
    const hex = Buffer.from([...Buffer.from('{"a":"'), 0xff, ...Buffer.from('"}')]).toString('hex');
    const r = await session.get('/bytes', { params: { hex, type: 'application/json' } });
    await assert.rejects(r.json(), RangeError);
    const cs = await session.get('/bytes', {
      params: { hex, type: 'application/json; charset=utf-8' },
    });
    await assert.rejects(cs.json(), RangeError);
  });

  it('text() of application/json or application/rdap+json without a charset is strict UTF-8, as aiohttp', async () => {
    await using s = await serve(app());
    await using session = new ClientSession({ baseUrl: s.url });
    // aiohttp 3.8: UnicodeDecodeError for both; text/plain is guessed (never fails).
    for (const type of ['application/json', 'application/rdap+json', 'Application/JSON; x=1']) {
      const r = await session.get('/bytes', { params: { hex: BAD_UTF8, type } });
      await assert.rejects(r.text(), RangeError, type);
      assert.equal(await r.text(undefined, 'replace'), 'a\ufffdb');
    }
    const other = await session.get('/bytes', {
      params: { hex: BAD_UTF8, type: 'application/problem+json' },
    });
    assert.equal(await other.text(), 'a\ufffdb');
  });
});

describe('ClientResponse reads at the same time', () => {
  it('two read() calls at once both get the whole body', async () => {
    await using s = await serve(app());
    await using session = new ClientSession({ baseUrl: s.url });
    const r = await session.get('/two-parts');
    const [a, b, t] = await Promise.all([r.read(), r.read(), r.text()]);
    assert.equal(a.length, 200_000);
    assert.equal(b.length, 200_000);
    assert.equal(t.length, 200_000);
    assert.equal(a.subarray(999, 1001).toString(), 'ab');
  });

  it('content taken while read() runs gives the whole body too', async () => {
    await using s = await serve(app());
    await using session = new ClientSession({ baseUrl: s.url });
    const r = await session.get('/two-parts');
    const whole = r.read();
    const streamed = await r.content.read();
    assert.equal(streamed.length, 200_000);
    assert.deepEqual(await whole, streamed);
  });
});
