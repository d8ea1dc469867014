/**
 * The web client against a decompression bomb, a header named like an Object.prototype key, and release() of a coded body (helper-107's review of af380e6; each test failed on af380e6).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { Application } from '../../src/web/application.js';
import { ClientSession } from '../../src/web/client-session.js';
import { ClientConnectionError } from '../../src/web/errors.js';
import { Response } from '../../src/web/response.js';
import { checkLeaks } from '../support/leaks.js';
import { serve } from './loopback.js';

checkLeaks();

const BOMB_SIZE = 64 * 1024 * 1024;
// 64 MiB of zeros: a few hundred bytes of brotli.
const BOMB = brotliCompressSync(Buffer.alloc(BOMB_SIZE), {
  params: { [constants.BROTLI_PARAM_QUALITY]: 5 },
});

function app(): Application {
  const a = new Application();
  a.router.addGet(
    '/bomb',
    () => new Response({ body: BOMB, headers: { 'content-encoding': 'br' } }),
  );
  a.router.addGet(
    '/gz',
    () =>
      new Response({
        body: gzipSync('z'.repeat(100_000)),
        headers: { 'content-encoding': 'gzip' },
      }),
  );
  a.router.addGet('/plain', () => new Response({ body: Buffer.from('z'.repeat(100_000)) }));
  a.router.addGet('/echo', (r) => new Response({ text: JSON.stringify(r.headers) }));
  return a;
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

describe('web client: coded bodies and header names', () => {
  it('a compressed body read slowly through content is decoded no further ahead than the reader (back pressure, bomb)', async () => {
    await using s = await serve(app());
    await using session = new ClientSession({ baseUrl: s.url });
    const before = process.memoryUsage().arrayBuffers;
    const r = await session.get('/bomb');
    assert.equal((await r.content.read(10)).length, 10);
    // The reader took 10 bytes: what is decoded ahead of it must stay bounded (the uncoded
    // path pauses the socket at the StreamReader's high-water mark; aiohttp 3.8.4 refuses a
    // chunk decoding to more than 32 MiB). af380e6's decoder pushed all 64 MiB.
    let grown = 0;
    for (let i = 0; i < 30; i++) {
      await sleep(50);
      grown = Math.max(grown, process.memoryUsage().arrayBuffers - before);
    }
    r.release();
    assert.ok(grown < 16 * 1024 * 1024, `decoded ahead of the reader: ${grown} bytes`);
  });

  it('a header named Constructor is sent with its own value (no Object.prototype key)', async () => {
    await using s = await serve(app());
    await using session = new ClientSession({ baseUrl: s.url });
    const echoed = JSON.parse(
      await (await session.get('/echo', { headers: { Constructor: 'x' } })).text(),
    );
    assert.equal(echoed.constructor, 'x');
  });

  it('read() after an explicit release() raises ClientConnectionError for a coded body too (aiohttp 3.8)', async () => {
    // aiohttp 3.8: release() sets ClientConnectionError('Connection closed') on the content,
    // so a later read() raises for /gz and /plain alike.
    await using s = await serve(app());
    await using session = new ClientSession({ baseUrl: s.url });
    for (const path of ['/plain', '/gz']) {
      const r = await session.get(path);
      await sleep(200); // the whole body has arrived
      r.release();
      await assert.rejects(r.read(), ClientConnectionError, path);
    }
  });

  it('session.headers stays a plain object (helper-108)', async () => {
    await using session = new ClientSession({ headers: { 'X-Token': 'abc', Constructor: 'c' } });
    assert.deepStrictEqual(session.headers, { 'x-token': 'abc', constructor: 'c' });
    assert.equal(Object.getPrototypeOf(session.headers), Object.prototype);
  });
});
