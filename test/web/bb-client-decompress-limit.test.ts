/**
 * One piece of a coded body, as a network read brings it, that decodes to more than
 * `maxDecompressSize` (a decompression bomb) fails with ClientPayloadError — as Debian's aiohttp
 * 3.8.4 (CVE-2025-69223) raises ClientPayloadError("Decompressed data exceeds the configured
 * limit of 33554432 bytes"), bounding what each network read decodes to; a large body coded in
 * ordinary pieces reads whole there (40 MiB of gzip in 16 KiB writes: helper-130's review).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { Application } from '../../src/web/application.js';
import { ClientSession } from '../../src/web/client-session.js';
import { ClientPayloadError } from '../../src/web/errors.js';
import { Response } from '../../src/web/response.js';
import { checkLeaks } from '../support/leaks.js';
import { serve } from './loopback.js';

checkLeaks();

const MIB = 2 ** 20;

/** What the bomb decodes to: past the default bound of 32 MiB. */
const BOMB = 40 * MIB;

/** The coded bodies, made once for the file (coding them costs more than the tests' reads). */
let bodies: { bomb: Buffer; small: Buffer; large: Buffer } | undefined;

function app(): Application {
  bodies ??= {
    // 40 MiB of zeros is some tens of bytes of brotli: one network read, however the machine
    // splits the body.
    bomb: brotliCompressSync(Buffer.alloc(BOMB), {
      params: { [constants.BROTLI_PARAM_QUALITY]: 4 },
    }),
    small: gzipSync(Buffer.alloc(1000, 'a')),
    // 2 MiB that gzip cannot shrink: no network read (at most some 64 KiB) decodes to 256 KiB.
    large: gzipSync(randomBytes(2 * MIB)),
  };
  const { bomb, small, large } = bodies;
  const a = new Application();
  const coded =
    (body: Buffer, coding = 'gzip') =>
    () =>
      new Response({ body, headers: { 'content-encoding': coding } });
  a.router.addGet('/bomb', coded(bomb, 'br'));
  a.router.addGet('/small', coded(small));
  a.router.addGet('/large', coded(large));
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

  it('0 means no bound; an uncoded body is not bounded; a large body in ordinary pieces reads whole', async () => {
    await using s = await serve(app());
    await using none = new ClientSession({ baseUrl: s.url, maxDecompressSize: 0 });
    assert.equal((await (await none.get('/bomb')).read()).length, BOMB);
    await using tight = new ClientSession({ baseUrl: s.url, maxDecompressSize: 256 * 1024 });
    assert.equal((await (await tight.get('/plain')).read()).length, 2 * MIB);
    // The bound is on each piece, not the total (aiohttp's): 2 MiB in pieces of at most 64 KiB.
    assert.equal((await (await tight.get('/large')).read()).length, 2 * MIB);
    const streamed = await tight.get('/large');
    let n = 0;
    for (;;) {
      const chunk = await streamed.content.read(100_000);
      if (chunk.length === 0) break;
      n += chunk.length;
    }
    assert.equal(n, 2 * MIB);
    // Unbounded, content streams a bomb: the decoder keeps pace with the reader.
    const resp = await none.get('/bomb');
    n = 0;
    for (;;) {
      const chunk = await resp.content.read(MIB);
      if (chunk.length === 0) break;
      n += chunk.length;
    }
    assert.equal(n, BOMB);
  });

  it('content is bounded as read() is: a bomb read through it fails', async () => {
    await using s = await serve(app());
    await using session = new ClientSession({ baseUrl: s.url, maxDecompressSize: MIB });
    const resp = await session.get('/bomb');
    await assert.rejects(async () => {
      for (;;) if ((await resp.content.read(64 * 1024)).length === 0) break;
    }, /limit of 1048576 bytes/);
    // read() after content was taken meets the same bound.
    const again = await session.get('/bomb');
    await again.content.read(1000);
    await assert.rejects(again.read(), /limit of 1048576 bytes/);
  });

  it('a maxDecompressSize that is not an integer >= 0 raises RangeError', () => {
    for (const bad of [-1, 1.5, Number.NaN]) {
      assert.throws(() => new ClientSession({ maxDecompressSize: bad }), RangeError);
    }
  });
});
