/**
 * A coded body that decodes to more than `maxDecompressSize` (a decompression bomb) fails
 * `read()` with ClientPayloadError instead of being held whole — as Debian's aiohttp 3.8.4
 * (CVE-2025-69223) raises ClientPayloadError("Decompressed data exceeds the configured limit
 * of 33554432 bytes") for a 64 KiB gzip body that inflates to 64 MiB.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { Application } from '../../src/web/application.js';
import { ClientSession } from '../../src/web/client-session.js';
import { ClientPayloadError } from '../../src/web/errors.js';
import { Response } from '../../src/web/response.js';
import { checkLeaks } from '../support/leaks.js';
import { serve } from './loopback.js';

checkLeaks();

const MIB = 2 ** 20;

function app(): Application {
  // 64 MiB of zeros is some 64 KiB of gzip.
  const bomb = gzipSync(Buffer.alloc(64 * MIB), { level: 9 });
  const small = gzipSync(Buffer.alloc(1000, 'a'));
  const a = new Application();
  const coded = (body: Buffer) => () =>
    new Response({ body, headers: { 'content-encoding': 'gzip' } });
  a.router.addGet('/bomb', coded(bomb));
  a.router.addGet('/small', coded(small));
  a.router.addGet('/plain', () => new Response({ body: Buffer.alloc(2 * MIB) }));
  return a;
}

describe('ClientSession maxDecompressSize (aiohttp DEFAULT_MAX_DECOMPRESS_SIZE)', () => {
  it('read() of a body that decodes past 32 MiB raises ClientPayloadError', async () => {
    await using s = await serve(app());
    await using session = new ClientSession({ baseUrl: s.url });
    const resp = await session.get('/bomb');
    await assert.rejects(resp.read(), (e: unknown) => {
      assert.ok(e instanceof ClientPayloadError);
      assert.match(e.message, /exceeds the configured limit of 33554432 bytes/);
      return true;
    });
    // The response is released: text() gives the same error, and the session goes on.
    assert.equal(resp.closed, true);
    await assert.rejects(resp.text(), ClientPayloadError);
    assert.equal((await (await session.get('/small')).read()).length, 1000);
  });

  it('the bound is the option: past it text() raises, at it the body reads', async () => {
    await using s = await serve(app());
    await using tight = new ClientSession({ baseUrl: s.url, maxDecompressSize: 999 });
    await assert.rejects((await tight.get('/small')).text(), /limit of 999 bytes/);
    await using exact = new ClientSession({ baseUrl: s.url, maxDecompressSize: 1000 });
    assert.equal((await (await exact.get('/small')).text()).length, 1000);
  });

  it('0 means no bound; an uncoded body is not bounded; content streams a bomb', async () => {
    await using s = await serve(app());
    await using none = new ClientSession({ baseUrl: s.url, maxDecompressSize: 0 });
    assert.equal((await (await none.get('/bomb')).read()).length, 64 * MIB);
    await using tight = new ClientSession({ baseUrl: s.url, maxDecompressSize: 1000 });
    assert.equal((await (await tight.get('/plain')).read()).length, 2 * MIB);
    // Streamed, the decoder keeps pace with the reader: nothing is bounded, little is held.
    const resp = await tight.get('/bomb');
    let n = 0;
    for (;;) {
      const chunk = await resp.content.read(MIB);
      if (chunk.length === 0) break;
      n += chunk.length;
    }
    assert.equal(n, 64 * MIB);
  });

  it('read() after content was taken is bounded too', async () => {
    await using s = await serve(app());
    await using session = new ClientSession({ baseUrl: s.url, maxDecompressSize: MIB });
    const resp = await session.get('/bomb');
    assert.equal((await resp.content.read(1000)).length, 1000);
    await assert.rejects(resp.read(), /limit of 1048576 bytes/);
    assert.equal(resp.closed, true);
  });

  it('a maxDecompressSize that is not an integer >= 0 raises RangeError', () => {
    for (const bad of [-1, 1.5, Number.NaN]) {
      assert.throws(() => new ClientSession({ maxDecompressSize: bad }), RangeError);
    }
  });
});
