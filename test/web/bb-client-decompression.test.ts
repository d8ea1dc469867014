/**
 * The client decodes a compressed response body, as aiohttp's `auto_decompress` (on by
 * default) does, and asks for one with `Accept-Encoding` as aiohttp does.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { TimeoutError } from '../../src/internal/errors.js';
import { Application } from '../../src/web/application.js';
import { ClientSession } from '../../src/web/client-session.js';
import { ClientConnectionError, ClientPayloadError } from '../../src/web/errors.js';
import { Response } from '../../src/web/response.js';
import { StreamResponse } from '../../src/web/stream-response.js';
import { checkLeaks } from '../support/leaks.js';
import { serve } from './loopback.js';

checkLeaks();

const TEXT = 'line of text\n'.repeat(20_000);

const CODERS: Record<string, [string, (b: string) => Buffer]> = {
  gzip: ['gzip', gzipSync],
  deflate: ['deflate', deflateSync],
  // A bare deflate stream, without its zlib wrapper: some servers send it as `deflate`.
  rawdeflate: ['deflate', deflateRawSync],
  br: ['br', brotliCompressSync],
};

function app(): Application {
  const a = new Application();
  a.router.addGet('/accept-encoding', (r) => new Response({ text: r.headers['accept-encoding'] }));
  a.router.addGet('/coded/{kind}', (r) => {
    const [coding, encode] = CODERS[r.matchInfo.kind as string] as [string, (b: string) => Buffer];
    return new Response({
      body: encode(TEXT),
      headers: { 'content-encoding': coding, 'content-type': 'text/plain; charset=utf-8' },
    });
  });
  a.router.addGet('/json-gz', () => {
    return new Response({
      body: gzipSync('{"a":[1,2]}'),
      headers: { 'content-encoding': 'gzip', 'content-type': 'application/json' },
    });
  });
  a.router.addGet('/not-gzip', () => {
    return new Response({
      body: Buffer.from('these bytes are no gzip stream'),
      headers: { 'content-encoding': 'gzip' },
    });
  });
  // Chunked, with no bytes at all: no gzip stream either.
  a.router.addGet('/empty-gz', async (req) => {
    const r = new StreamResponse({ headers: { 'content-encoding': 'gzip' } });
    await r.prepare(req);
    await r.writeEof();
    return r;
  });
  // The first 100 bytes, then the rest after a pause long enough for a timeout to pass.
  a.router.addGet('/slow-gz', async (req) => {
    const body = gzipSync(TEXT);
    const r = new StreamResponse({ headers: { 'content-encoding': 'gzip' } });
    r.contentLength = body.length;
    await r.prepare(req);
    await r.write(body.subarray(0, 100));
    await new Promise((done) => setTimeout(done, 1500));
    await r.write(body.subarray(100));
    await r.writeEof();
    return r;
  });
  return a;
}

describe('ClientSession decodes compressed bodies (aiohttp auto_decompress)', () => {
  it('sends Accept-Encoding: gzip, deflate, br by default; the headers can replace it', async () => {
    await using s = await serve(app());
    await using session = new ClientSession({ baseUrl: s.url });
    assert.equal(await (await session.get('/accept-encoding')).text(), 'gzip, deflate, br');
    const own = await session.get('/accept-encoding', { headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(await own.text(), 'gzip');
  });

  for (const kind of Object.keys(CODERS)) {
    it(`a ${kind} body reads decoded with read(), text() and content`, async () => {
      await using s = await serve(app());
      await using session = new ClientSession({ baseUrl: s.url });
      assert.equal(await (await session.get(`/coded/${kind}`)).text(), TEXT);
      const r = await session.get(`/coded/${kind}`);
      let lines = 0;
      for await (const line of r.content) {
        assert.equal(line.toString(), 'line of text\n');
        lines++;
      }
      assert.equal(lines, 20_000);
    });
  }

  it('json() reads a gzip body', async () => {
    await using s = await serve(app());
    await using session = new ClientSession({ baseUrl: s.url });
    assert.deepEqual(await (await session.get('/json-gz')).json(), { a: [1, 2] });
  });

  it('a coded body with no bytes at all reads as empty, as in aiohttp', async () => {
    await using s = await serve(app());
    await using session = new ClientSession({ baseUrl: s.url });
    assert.equal(await (await session.get('/empty-gz')).text(), '');
    assert.equal((await (await session.get('/empty-gz')).content.read()).length, 0);
  });

  it('autoDecompress: false gives the bytes as they came', async () => {
    await using s = await serve(app());
    await using session = new ClientSession({ baseUrl: s.url, autoDecompress: false });
    const b = await (await session.get('/coded/gzip')).read();
    assert.deepEqual([...b.subarray(0, 2)], [0x1f, 0x8b]);
  });

  it('a body that is not what its Content-Encoding says raises ClientPayloadError', async () => {
    await using s = await serve(app());
    await using session = new ClientSession({ baseUrl: s.url });
    await assert.rejects((await session.get('/not-gzip')).read(), ClientPayloadError);
    const r = await session.get('/not-gzip');
    await assert.rejects(r.content.read(), ClientPayloadError);
  });

  it('a compressed body keeps the errors of the exchange: timeout.total, release, and frees the slot', async () => {
    await using s = await serve(app());
    await using session = new ClientSession({ baseUrl: s.url, limit: 1 });
    const late = await session.get('/slow-gz', { timeout: { total: 300 } });
    await assert.rejects(late.read(), TimeoutError);
    const lateStream = await session.get('/slow-gz', { timeout: { total: 300 } });
    await assert.rejects(lateStream.content.read(), TimeoutError);
    const released = await session.get('/slow-gz');
    const reading = released.read();
    released.release();
    await assert.rejects(reading, ClientConnectionError);
    await assert.rejects(released.read(), ClientConnectionError);
    // limit: 1 — each of the above gave its slot back.
    assert.equal(await (await session.get('/coded/gzip')).text(), TEXT);
  });
});
