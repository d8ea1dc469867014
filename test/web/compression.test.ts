/**
 * Response compression: `enableCompression()` on a Response, a StreamResponse and a
 * FileResponse, the pre-compressed `.gz` sibling of a file (FileResponse and static routes),
 * and the two sides against aiohttp 3.8 (fixtures/aiohttp_compression_peer.py, run by
 * /usr/bin/python3): aiohttp's client decodes what weft's server codes, weft's client decodes
 * what aiohttp's server codes, and both servers choose the same coding for the same plain
 * `Accept-Encoding`. The expected values were checked against aiohttp 3.8.4; where weft departs
 * (docs/web.md says so), the test says why.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { brotliDecompressSync, createGunzip, gunzipSync, gzipSync, inflateSync } from 'node:zlib';
import { RuntimeError } from '../../src/internal/errors.js';
import { ConnectionResetError } from '../../src/socket/errors.js';
import { Application } from '../../src/web/application.js';
import type { BodyCoder } from '../../src/web/body-coder.js';
import { ClientSession } from '../../src/web/client-session.js';
import { ContentCoding } from '../../src/web/content-coding.js';
import { FileResponse } from '../../src/web/file-response.js';
import type { Request } from '../../src/web/request.js';
import { Response } from '../../src/web/response.js';
import { StreamResponse } from '../../src/web/stream-response.js';
import { WebSocketResponse } from '../../src/web/web-socket-response.js';
import { checkLeaks } from '../support/leaks.js';
import { settles } from '../support/settles.js';
import { until } from '../support/until.js';
import { fetchAll, type Got, raw, serve } from './loopback.js';

checkLeaks();

/** The same text as the aiohttp peer's. */
const TEXT = Array.from({ length: 3000 }, (_, i) => `line ${i} of the body\n`).join('');
const PLAIN = 'hello world\n'.repeat(50);

/** A GET (or `method`) with exactly `headers`: Node's client adds no Accept-Encoding. */
function get(
  base: string,
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<Got> {
  return fetchAll(`${base}${path}`, headers, method);
}

function decode(body: Buffer, coding: string | undefined): Buffer {
  if (coding === 'gzip') return gunzipSync(body);
  if (coding === 'deflate') return inflateSync(body);
  if (coding === 'br') return brotliDecompressSync(body);
  assert.equal(coding, undefined);
  return body;
}

let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'weft-web-compression-'));
  writeFileSync(join(dir, 'a.txt'), PLAIN);
  // The sibling holds other text than a.txt, so that a test sees which of the two was sent.
  writeFileSync(join(dir, 'a.txt.gz'), gzipSync('from the sibling\n'));
  writeFileSync(join(dir, 'big.txt'), TEXT);
  writeFileSync(join(dir, 'dirsib.txt'), PLAIN);
  mkdirSync(join(dir, 'dirsib.txt.gz'));
  writeFileSync(join(dir, 'linked.txt'), PLAIN);
  writeFileSync(join(dir, 'target.gz'), gzipSync('through a symlink\n'));
  symlinkSync(join(dir, 'target.gz'), join(dir, 'linked.txt.gz'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function compressed(text: string, force?: ContentCoding): () => Response {
  return () => {
    const r = new Response({ text });
    r.enableCompression(force);
    return r;
  };
}

describe('Response.enableCompression()', () => {
  it('codes the body in the coding Accept-Encoding chooses: aiohttp 3.8 order (deflate first), q-values read', async () => {
    const app = new Application();
    app.router.addGet('/t', compressed(TEXT));
    await using s = await serve(app);
    const cases: [string | null, string | undefined][] = [
      // As aiohttp 3.8.4 answers them:
      ['gzip, deflate', 'deflate'],
      ['gzip', 'gzip'],
      ['deflate', 'deflate'],
      ['x-gzip', 'gzip'],
      ['GZIP', 'gzip'],
      ['identity', undefined],
      ['*', undefined],
      ['', undefined],
      [null, undefined],
      // br, which aiohttp 3.8's server does not have, comes after deflate and gzip.
      ['gzip, deflate, br', 'deflate'],
      ['br', 'br'],
      // Where aiohttp reads the names as substrings and ignores q (it sends gzip to each):
      ['gzip;q=0', undefined],
      ['deflate;q=0, gzip', 'gzip'],
      ['gzip;q=1, deflate;q=0.5', 'gzip'],
      ['br;q=1, gzip;q=0.8, deflate;q=0.8', 'br'],
      ['gzip;q=abc', undefined],
      ['gzipped', undefined],
    ];
    for (const [accept, coding] of cases) {
      const r = await get(s.url, '/t', accept === null ? {} : { 'accept-encoding': accept });
      const what = `Accept-Encoding: ${accept}`;
      assert.equal(r.status, 200, what);
      assert.equal(r.headers['content-encoding'], coding, what);
      assert.equal(r.headers.vary, 'Accept-Encoding', what);
      assert.equal(r.headers['content-length'], String(r.body.length), what);
      assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8', what);
      assert.equal(decode(r.body, coding).toString(), TEXT, what);
      if (coding !== undefined) assert.ok(r.body.length < TEXT.length / 2, what);
    }
  });

  it('force sends its coding whatever the client asked, without Vary; identity sends none', async () => {
    const app = new Application();
    app.router.addGet('/gzip', compressed(TEXT, ContentCoding.gzip));
    app.router.addGet('/br', compressed(TEXT, ContentCoding.br));
    app.router.addGet('/identity', compressed(TEXT, ContentCoding.identity));
    await using s = await serve(app);
    const gz = await get(s.url, '/gzip');
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal(gz.headers.vary, undefined);
    assert.equal(gunzipSync(gz.body).toString(), TEXT);
    const br = await get(s.url, '/br', { 'accept-encoding': 'gzip' });
    assert.equal(br.headers['content-encoding'], 'br');
    assert.equal(brotliDecompressSync(br.body).toString(), TEXT);
    const id = await get(s.url, '/identity', { 'accept-encoding': 'gzip' });
    assert.equal(id.headers['content-encoding'], undefined);
    assert.equal(id.headers.vary, undefined);
    assert.equal(id.body.toString(), TEXT);
  });

  it('HEAD gets the headers GET gets (the coded length), and no body, as aiohttp', async () => {
    const app = new Application();
    app.router.addGet('/t', compressed(TEXT));
    await using s = await serve(app);
    const g = await get(s.url, '/t', { 'accept-encoding': 'gzip' });
    const h = await get(s.url, '/t', { 'accept-encoding': 'gzip' }, 'HEAD');
    assert.equal(h.status, 200);
    assert.equal(h.headers['content-encoding'], 'gzip');
    assert.equal(h.headers['content-length'], g.headers['content-length']);
    assert.equal(h.body.length, 0);
  });

  it('a 204 or 304 goes out without a body or Content-Encoding, with Vary (aiohttp 3.8 fails with AssertionError); a body the handler coded itself is not coded again', async () => {
    const app = new Application();
    for (const status of [204, 304]) {
      app.router.addGet(`/${status}`, () => {
        const r = new Response({ status });
        r.enableCompression();
        return r;
      });
    }
    app.router.addGet('/pre', () => {
      const r = new Response({
        body: gzipSync(TEXT),
        headers: { 'content-encoding': 'gzip', 'content-type': 'text/plain' },
      });
      r.enableCompression();
      return r;
    });
    await using s = await serve(app);
    for (const status of [204, 304]) {
      const r = await get(s.url, `/${status}`, { 'accept-encoding': 'gzip' });
      assert.equal(r.status, status);
      assert.equal(r.headers['content-encoding'], undefined);
      assert.equal(r.headers.vary, 'Accept-Encoding');
      assert.equal(r.body.length, 0);
    }
    const pre = await get(s.url, '/pre', { 'accept-encoding': 'gzip, deflate' });
    assert.equal(pre.headers['content-encoding'], 'gzip');
    assert.equal(pre.headers.vary, undefined);
    assert.equal(gunzipSync(pre.body).toString(), TEXT);
  });

  it('an empty body is coded too (a gzip stream of nothing), as aiohttp', async () => {
    const app = new Application();
    app.router.addGet('/e', compressed(''));
    await using s = await serve(app);
    const r = await get(s.url, '/e', { 'accept-encoding': 'gzip' });
    assert.equal(r.headers['content-encoding'], 'gzip');
    assert.equal(r.headers['content-length'], String(r.body.length));
    assert.equal(gunzipSync(r.body).length, 0);
  });

  it('a Vary the handler set keeps its names, Accept-Encoding added once', async () => {
    const app = new Application();
    app.router.addGet('/v', () => {
      const r = new Response({ text: TEXT, headers: { vary: 'Origin' } });
      r.enableCompression();
      return r;
    });
    app.router.addGet('/v2', () => {
      const r = new Response({ text: TEXT, headers: { vary: 'origin, accept-encoding' } });
      r.enableCompression();
      return r;
    });
    await using s = await serve(app);
    assert.equal(
      (await get(s.url, '/v', { 'accept-encoding': 'gzip' })).headers.vary,
      'Origin, Accept-Encoding',
    );
    assert.equal(
      (await get(s.url, '/v2', { 'accept-encoding': 'gzip' })).headers.vary,
      'origin, accept-encoding',
    );
  });

  it('a Response the handler prepares sends its coded body at writeEof(); write() on it raises RuntimeError', async () => {
    const app = new Application();
    const seen: unknown[] = [];
    app.router.addGet('/p', async (request) => {
      const r = new Response({ text: TEXT });
      r.enableCompression();
      await r.prepare(request);
      await r.write('stray bytes').catch((e: unknown) => seen.push(e));
      await r.writeEof();
      return r;
    });
    await using s = await serve(app);
    const r = await get(s.url, '/p', { 'accept-encoding': 'deflate' });
    assert.equal(r.headers['content-encoding'], 'deflate');
    assert.equal(inflateSync(r.body).toString(), TEXT);
    assert.equal(seen.length, 1);
    assert.ok(seen[0] instanceof RuntimeError);
  });

  it('a body over 16 KiB is coded on the thread pool (the event loop turns meanwhile); a small one at once', async () => {
    const app = new Application();
    const turned: Record<string, boolean> = {};
    const big = TEXT.repeat(20); // about 1.2 MB
    for (const [name, text] of [
      ['big', big],
      ['small', PLAIN],
    ] as const) {
      app.router.addGet(`/${name}`, async (request) => {
        const r = new Response({ text });
        r.enableCompression(ContentCoding.gzip);
        let t = false;
        setImmediate(() => {
          t = true;
        });
        await r.prepare(request);
        turned[name] = t;
        await r.writeEof();
        return r;
      });
    }
    await using s = await serve(app);
    const b = await get(s.url, '/big');
    assert.equal(gunzipSync(b.body).toString(), big);
    const p = await get(s.url, '/small');
    assert.equal(gunzipSync(p.body).toString(), PLAIN);
    assert.deepEqual(turned, { big: true, small: false });
  });
});

describe('enableCompression(): bad input and misuse', () => {
  it('an unknown coding raises RangeError; a boolean (aiohttp deprecated it) or another type TypeError', () => {
    const r = new Response({ text: 'x' });
    assert.throws(() => r.enableCompression('zstd' as ContentCoding), {
      name: 'RangeError',
      message: /'deflate', 'gzip', 'br' or 'identity': received "zstd"/,
    });
    assert.throws(() => r.enableCompression('GZIP' as ContentCoding), RangeError);
    assert.throws(() => r.enableCompression(true as unknown as ContentCoding), {
      name: 'TypeError',
      message: /ContentCoding\.deflate/,
    });
    assert.throws(() => r.enableCompression(1 as unknown as ContentCoding), TypeError);
    assert.equal(r.compression, false);
    r.enableCompression(null);
    assert.equal(r.compression, true);
  });

  it('after prepare() raises RuntimeError (aiohttp ignores the call); a WebSocketResponse refuses it', async () => {
    const app = new Application();
    const seen: unknown[] = [];
    app.router.addGet('/late', async (request) => {
      const r = new StreamResponse();
      await r.prepare(request);
      try {
        r.enableCompression();
      } catch (e) {
        seen.push(e);
      }
      await r.writeEof('plain');
      return r;
    });
    await using s = await serve(app);
    const r = await get(s.url, '/late', { 'accept-encoding': 'gzip' });
    assert.equal(r.headers['content-encoding'], undefined);
    assert.equal(r.body.toString(), 'plain');
    assert.equal(seen.length, 1);
    assert.ok(seen[0] instanceof RuntimeError);
    assert.match((seen[0] as Error).message, /already prepared/);
    assert.equal((seen[0] as RuntimeError).code, 'ERR_WEFT_WEB_PREPARED');
    assert.throws(() => new WebSocketResponse().enableCompression(), {
      name: 'RuntimeError',
      code: 'ERR_WEFT_WEB_WS_COMPRESSION',
      message: /Cannot compress a WebSocketResponse/,
    });
    assert.throws(() => new WebSocketResponse().enableCompression(), RuntimeError);
  });
});

describe('StreamResponse.enableCompression()', () => {
  function streaming(pieces: (string | Uint8Array)[], setup?: (r: StreamResponse) => void) {
    return async (request: Request) => {
      const r = new StreamResponse();
      r.contentType = 'text/plain';
      setup?.(r);
      r.enableCompression();
      await r.prepare(request);
      for (const p of pieces) await r.write(p);
      await r.writeEof();
      return r;
    };
  }

  it('codes the writes as one stream, chunked, with no Content-Length (one set is dropped, as aiohttp)', async () => {
    const app = new Application();
    const pieces = [
      TEXT.slice(0, 10_000),
      Buffer.from(TEXT.slice(10_000, 40_000)),
      TEXT.slice(40_000),
    ];
    app.router.addGet('/s', streaming(pieces));
    app.router.addGet(
      '/len',
      streaming(pieces, (r) => (r.contentLength = TEXT.length)),
    );
    await using s = await serve(app);
    for (const path of ['/s', '/len']) {
      for (const coding of ['gzip', 'deflate', 'br']) {
        const r = await get(s.url, path, { 'accept-encoding': coding });
        assert.equal(r.headers['content-encoding'], coding);
        assert.equal(r.headers['transfer-encoding'], 'chunked');
        assert.equal(r.headers['content-length'], undefined);
        assert.equal(r.headers.vary, 'Accept-Encoding');
        assert.equal(decode(r.body, coding).toString(), TEXT);
      }
      const plain = await get(s.url, path);
      assert.equal(plain.headers['content-encoding'], undefined);
      assert.equal(plain.body.toString(), TEXT);
    }
  });

  it('writeEof(data) codes its data too; HEAD gets Content-Encoding and no body', async () => {
    const app = new Application();
    app.router.addGet('/e', async (request) => {
      const r = new StreamResponse();
      r.enableCompression();
      await r.prepare(request);
      await r.write('first ');
      await r.writeEof('last');
      return r;
    });
    await using s = await serve(app);
    const r = await get(s.url, '/e', { 'accept-encoding': 'gzip' });
    assert.equal(gunzipSync(r.body).toString(), 'first last');
    const h = await get(s.url, '/e', { 'accept-encoding': 'gzip' }, 'HEAD');
    assert.equal(h.headers['content-encoding'], 'gzip');
    assert.equal(h.body.length, 0);
  });

  it('an HTTP/1.0 client gets the coded body unchunked, ended by the close', async () => {
    const app = new Application();
    app.router.addGet('/s', streaming([TEXT]));
    await using s = await serve(app);
    const r = await raw(s.port, 'GET /s HTTP/1.0\r\nAccept-Encoding: gzip\r\n\r\n', {
      timeout: 30_000,
    });
    assert.equal(r.closed, true);
    const at = r.text.indexOf('\r\n\r\n');
    const head = r.text.slice(0, at).toLowerCase();
    assert.match(head, /\r\ncontent-encoding: gzip\r\n/);
    assert.doesNotMatch(head, /transfer-encoding/);
    assert.equal(gunzipSync(Buffer.from(r.text.slice(at + 4), 'latin1')).toString(), TEXT);
  });

  /**
   * A handler that writes `total` chunks of incompressible bytes through gzip, and what can be
   * read of its state: how many writes returned, whether one is waiting, and whether its
   * compressor is held by a full socket.
   */
  function flood(total: number) {
    // Random bytes do not compress: what is written is what has to go through the socket.
    const chunk = randomBytes(64 * 1024);
    const state = {
      chunk,
      total,
      written: 0,
      inWrite: false,
      ended: null as unknown,
      done: false,
      response: null as StreamResponse | null,
      res: null as ServerResponse | null,
    };
    const app = new Application({ onError: () => {} });
    app.router.addGet('/flood', async (request) => {
      const r = new StreamResponse();
      r.enableCompression(ContentCoding.gzip);
      await r.prepare(request);
      state.response = r;
      state.res = request._res;
      try {
        for (; state.written < total; state.written++) {
          state.inWrite = true;
          await r.write(chunk);
          state.inWrite = false;
        }
      } catch (e) {
        state.ended = e;
        throw e;
      } finally {
        state.done = true;
      }
      return r;
    });
    /**
     * Whether the whole chain is full: a write is waiting, the compressor's output is held for
     * the socket, and the response cannot take more. Read from the code's state, not from a
     * pause in the writes (a stall would look the same).
     */
    const held = (): boolean => {
      const coder = (state.response as unknown as { coder: BodyCoder | null } | null)?.coder;
      return (
        state.inWrite && coder?._heldBySocket === true && state.res?.writableNeedDrain === true
      );
    };
    return { app, state, held };
  }

  it('a client that stops reading holds the writes back (back pressure); reading again lets every byte through', async () => {
    const { app, state, held } = flood(512); // 32 MiB, far more than loopback's socket buffers
    await using s = await serve(app);
    const req = httpRequest(`${s.url}/flood`, { agent: false });
    const head = new Promise<IncomingMessage>((resolve, reject) => {
      req.once('response', resolve);
      req.once('error', reject);
    });
    req.end();
    try {
      // The client takes the head and reads nothing of the body (Node's client stops reading
      // the socket once its small buffer is full).
      const res = await head;
      assert.equal(res.headers['content-encoding'], 'gzip');
      await until(() => held() || state.done, 'the writes to be held by the full socket');
      assert.ok(
        held(),
        `the handler finished (${state.written} writes) into a socket nobody reads`,
      );
      assert.ok(state.written < state.total, `all ${state.total} writes went through`);
      // What the process holds for the socket beyond the kernel's buffers stays bounded (the
      // compressor's output is not piled up in Node's write queue).
      const queued = (state.res as ServerResponse).socket?.writableLength ?? 0;
      assert.ok(queued < 1024 * 1024, `${queued} bytes queued for the socket`);
      // Reading again releases the writes: a stall (writes that never resume) fails here.
      const expected = createHash('sha256');
      const got = createHash('sha256');
      let length = 0;
      const gunzip = createGunzip();
      gunzip.on('data', (d: Buffer) => {
        got.update(d);
        length += d.length;
      });
      const decoded = new Promise<void>((resolve, reject) => {
        gunzip.once('end', resolve);
        gunzip.once('error', reject);
      });
      res.pipe(gunzip);
      await settles(decoded, 'the whole body to arrive', 120_000);
      assert.equal(state.written, state.total);
      assert.equal(state.ended, null);
      for (let i = 0; i < state.total; i++) expected.update(state.chunk);
      assert.equal(length, state.total * state.chunk.length);
      assert.equal(got.digest('hex'), expected.digest('hex'));
    } finally {
      // A failed test must not leave the handler held, which would hold the server's shutdown.
      req.destroy();
    }
  });

  it('a client that leaves while the writes are held raises ConnectionResetError in the waiting write', async () => {
    const { app, state, held } = flood(512);
    await using s = await serve(app);
    const sock = connect(s.port, '127.0.0.1');
    sock.on('error', () => {});
    sock.once('data', () => sock.pause()); // takes the head, then reads nothing more
    sock.write('GET /flood HTTP/1.1\r\nHost: x\r\n\r\n');
    try {
      await until(() => held() || state.done, 'the writes to be held by the full socket');
      assert.ok(
        held(),
        `the handler finished (${state.written} writes) into a socket nobody reads`,
      );
      sock.destroy();
      await until(() => state.done, 'the handler to hear the client leave');
      assert.ok(state.ended instanceof ConnectionResetError);
      assert.ok(state.written < state.total);
    } finally {
      sock.destroy();
    }
  });

  it('a compressor that fails raises its own error and cuts the connection, not a clean end of a truncated body', async () => {
    const app = new Application({ onError: () => {} });
    const seen: unknown[] = [];
    const failure = new Error('the compressor failed');
    app.router.addGet('/fail', async (request) => {
      const r = new StreamResponse();
      r.enableCompression(ContentCoding.gzip);
      await r.prepare(request);
      await r.write(TEXT);
      // zlib fails only in conditions a test cannot make (out of memory): its stream is failed
      // by hand, as zlib's own error would.
      (r as unknown as { coder: { z: { destroy(e: Error): void } } }).coder.z.destroy(failure);
      await r.write('more').catch((e: unknown) => seen.push(e));
      await r.writeEof().catch((e: unknown) => seen.push(e));
      return r;
    });
    await using s = await serve(app);
    const r = await raw(s.port, 'GET /fail HTTP/1.1\r\nHost: x\r\n\r\n', { timeout: 30_000 });
    // The head goes out with the first coded bytes: Node 20's zlib has handed some over by then,
    // Node 22's may not have, and then the connection is cut before any response (status 0).
    assert.ok(r.status === 200 || (r.status === 0 && r.text === ''), `status ${r.status}`);
    assert.equal(r.closed, true);
    // A chunked body ended by its last chunk would tell the client (and a cache) it is complete.
    assert.doesNotMatch(r.text, /\r\n0\r\n\r\n$/);
    assert.deepEqual(seen, [failure, failure]);
  });

  it('writeEof() called again (by the server, for a handler that did not await it) waits until the coded body is out', async () => {
    const app = new Application();
    // Incompressible: the compressor and the socket hold it for a while.
    const big = randomBytes(8 * 1024 * 1024);
    let returned = false;
    app.router.addGet('/late', async (request) => {
      const r = new StreamResponse();
      r.enableCompression(ContentCoding.gzip);
      await r.prepare(request);
      void r.writeEof(big);
      returned = true;
      return r;
    });
    const s = await serve(app);
    try {
      const got = get(s.url, '/late');
      await until(() => returned, 'the handler to return');
      // A graceful shutdown waits for the requests in flight, then closes every connection: the
      // request must stay in flight until its body is out.
      await s.runner.cleanup();
      const r = await got;
      assert.equal(r.headers['content-encoding'], 'gzip');
      assert.deepEqual(gunzipSync(r.body), big);
    } finally {
      await s.runner.cleanup();
    }
  });
});

describe('FileResponse and static files: the .gz sibling (aiohttp 3.8)', () => {
  function fileApp(): Application {
    const app = new Application();
    app.router.addGet('/a', () => new FileResponse(join(dir, 'a.txt')));
    app.router.addGet(
      '/typed',
      () => new FileResponse(join(dir, 'a.txt'), { contentType: 'text/x-mine' }),
    );
    app.router.addGet('/dirsib', () => new FileResponse(join(dir, 'dirsib.txt')));
    app.router.addStatic('/static', dir);
    return app;
  }

  it('a client that takes gzip gets x.gz as x: Content-Encoding, Vary, the type of x, the length and ETag of x.gz', async () => {
    await using s = await serve(fileApp());
    const gz = statSync(join(dir, 'a.txt.gz'), { bigint: true });
    for (const path of ['/a', '/static/a.txt']) {
      const r = await get(s.url, path, { 'accept-encoding': 'gzip, deflate' });
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-encoding'], 'gzip');
      assert.equal(r.headers.vary, 'Accept-Encoding');
      assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
      assert.equal(r.headers['content-length'], String(gz.size));
      assert.equal(r.headers.etag, `"${gz.mtimeNs.toString(16)}-${gz.size.toString(16)}"`);
      assert.equal(gunzipSync(r.body).toString(), 'from the sibling\n');
      const h = await get(s.url, path, { 'accept-encoding': 'gzip' }, 'HEAD');
      assert.equal(h.headers['content-encoding'], 'gzip');
      assert.equal(h.headers['content-length'], String(gz.size));
      assert.equal(h.body.length, 0);
    }
    const typed = await get(s.url, '/typed', { 'accept-encoding': 'gzip' });
    assert.equal(typed.headers['content-type'], 'text/x-mine');
    assert.equal(typed.headers['content-encoding'], 'gzip');
  });

  it('a client that does not take gzip (none, deflate only, gzip;q=0) gets x itself, without Vary', async () => {
    await using s = await serve(fileApp());
    const gz = await get(s.url, '/static/a.txt', { 'accept-encoding': 'gzip' });
    assert.equal(gunzipSync(gz.body).toString(), 'from the sibling\n');
    for (const accept of [null, 'deflate', 'gzip;q=0', 'identity']) {
      const r = await get(
        s.url,
        '/static/a.txt',
        accept === null ? {} : { 'accept-encoding': accept },
      );
      assert.equal(r.headers['content-encoding'], undefined, String(accept));
      assert.equal(r.headers.vary, undefined, String(accept));
      assert.equal(r.body.toString(), PLAIN, String(accept));
    }
  });

  it('a sibling that is no regular file, or a symlink under a static route, leaves x to serve', async () => {
    await using s = await serve(fileApp());
    // Outside a static route a symlinked sibling is followed, as the file's own path would be.
    const linked = new Application();
    linked.router.addGet('/l', () => new FileResponse(join(dir, 'linked.txt')));
    await using l = await serve(linked);
    const r = await get(l.url, '/l', { 'accept-encoding': 'gzip' });
    assert.equal(gunzipSync(r.body).toString(), 'through a symlink\n');
    for (const path of ['/dirsib', '/static/dirsib.txt', '/static/linked.txt']) {
      const r = await get(s.url, path, { 'accept-encoding': 'gzip' });
      assert.equal(r.status, 200, path);
      assert.equal(r.headers['content-encoding'], undefined, path);
      assert.equal(r.body.toString(), PLAIN, path);
    }
  });

  it("the sibling's validators answer 304 (with Vary) and its bytes a range", async () => {
    await using s = await serve(fileApp());
    const first = await get(s.url, '/a', { 'accept-encoding': 'gzip' });
    const etag = first.headers.etag as string;
    const nm = await get(s.url, '/a', { 'accept-encoding': 'gzip', 'if-none-match': etag });
    assert.equal(nm.status, 304);
    assert.equal(nm.headers.vary, 'Accept-Encoding');
    // The same tag does not match x itself, whose answer is the whole file.
    const other = await get(s.url, '/a', { 'if-none-match': etag });
    assert.equal(other.status, 200);
    assert.equal(other.body.toString(), PLAIN);
    const part = await get(s.url, '/a', { 'accept-encoding': 'gzip', range: 'bytes=0-9' });
    assert.equal(part.status, 206);
    assert.equal(part.headers['content-encoding'], 'gzip');
    assert.deepEqual(part.body, first.body.subarray(0, 10));
  });
});

describe('FileResponse.enableCompression()', () => {
  function app(): Application {
    const a = new Application();
    a.router.addGet('/big', () => {
      const r = new FileResponse(join(dir, 'big.txt'));
      r.enableCompression();
      return r;
    });
    a.router.addGet('/a', () => {
      const r = new FileResponse(join(dir, 'a.txt'));
      r.enableCompression();
      return r;
    });
    return a;
  }

  it('streams the file coded: chunked, no Content-Length or Accept-Ranges, a Range ignored (200)', async () => {
    await using s = await serve(app());
    for (const coding of ['gzip', 'deflate', 'br']) {
      const r = await get(s.url, '/big', { 'accept-encoding': coding, range: 'bytes=0-9' });
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-encoding'], coding);
      assert.equal(r.headers['content-length'], undefined);
      assert.equal(r.headers['accept-ranges'], undefined);
      assert.equal(r.headers.vary, 'Accept-Encoding');
      assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
      assert.equal(decode(r.body, coding).toString(), TEXT);
    }
    const h = await get(s.url, '/big', { 'accept-encoding': 'gzip' }, 'HEAD');
    assert.equal(h.headers['content-encoding'], 'gzip');
    assert.equal(h.body.length, 0);
    const plain = await get(s.url, '/big', { range: 'bytes=0-9' });
    assert.equal(plain.status, 206);
    assert.equal(plain.body.toString(), TEXT.slice(0, 10));
  });

  it('a .gz sibling is sent as it is, not coded again (aiohttp codes it twice and labels it deflate)', async () => {
    await using s = await serve(app());
    const r = await get(s.url, '/a', { 'accept-encoding': 'gzip, deflate' });
    assert.equal(r.headers['content-encoding'], 'gzip');
    assert.equal(r.headers.vary, 'Accept-Encoding');
    assert.equal(gunzipSync(r.body).toString(), 'from the sibling\n');
  });
  it('a forced coding wins over the .gz sibling: deflate and br code the file, identity sends it plain, gzip sends the sibling to any client (aiohttp codes the sibling again under the forced label)', async () => {
    const a = new Application();
    for (const coding of ['deflate', 'br', 'identity', 'gzip'] as const) {
      a.router.addGet(`/${coding}`, () => {
        const r = new FileResponse(join(dir, 'a.txt'));
        r.enableCompression(coding);
        return r;
      });
    }
    await using s = await serve(a);
    for (const coding of ['deflate', 'br'] as const) {
      const r = await get(s.url, `/${coding}`, { 'accept-encoding': 'gzip, deflate, br' });
      assert.equal(r.headers['content-encoding'], coding, coding);
      assert.equal(r.headers.vary, undefined, coding);
      assert.equal(decode(r.body, coding).toString(), PLAIN, coding);
    }
    const id = await get(s.url, '/identity', { 'accept-encoding': 'gzip' });
    assert.equal(id.headers['content-encoding'], undefined);
    assert.equal(id.headers.vary, undefined);
    assert.equal(id.headers['content-length'], String(Buffer.byteLength(PLAIN)));
    assert.equal(id.body.toString(), PLAIN);
    const gz = statSync(join(dir, 'a.txt.gz'));
    for (const accept of [null, 'gzip', 'deflate']) {
      const r = await get(s.url, '/gzip', accept === null ? {} : { 'accept-encoding': accept });
      const what = `gzip forced, Accept-Encoding: ${accept}`;
      assert.equal(r.headers['content-encoding'], 'gzip', what);
      // The answer does not depend on the client's header.
      assert.equal(r.headers.vary, undefined, what);
      assert.equal(r.headers['content-length'], String(gz.size), what);
      assert.equal(gunzipSync(r.body).toString(), 'from the sibling\n', what);
    }
  });
});

describe('the client reads what the server codes', () => {
  it("weft's ClientSession decodes weft's coded answers; autoDecompress: false gives the coded bytes", async () => {
    const app = new Application();
    app.router.addGet('/t', compressed(TEXT));
    await using s = await serve(app);
    await using session = new ClientSession();
    for (const accept of ['gzip', 'deflate', 'br']) {
      await using r = await session.get(`${s.url}/t`, { headers: { 'accept-encoding': accept } });
      assert.equal(r.headers.get('content-encoding'), accept);
      assert.equal(await r.text(), TEXT);
    }
    await using coded = new ClientSession({ autoDecompress: false });
    await using r = await coded.get(`${s.url}/t`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(gunzipSync(await r.read()).toString(), TEXT);
  });
});

const PEER = fileURLToPath(new URL('./fixtures/aiohttp_compression_peer.py', import.meta.url));
const NEEDS =
  'It needs /usr/bin/python3 with aiohttp 3.8 (npm run bench:deps installs python3-aiohttp)';

/** aiohttp's server (the peer's `serve`), or a loud failure when python3 has no aiohttp. */
async function aiohttpServer(): Promise<{ url: string; stop(): Promise<void> }> {
  const child: ChildProcess = spawn('/usr/bin/python3', [PEER, 'serve', dir], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const firstLine = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', resolve);
    child.once('error', reject);
    void exited.then((code) =>
      reject(new Error(`the aiohttp peer exited (${code}) before serving. ${NEEDS}:\n${stderr}`)),
    );
  });
  const port = Number(await settles(firstLine, 'the aiohttp peer to start', 30_000));
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      child.stdin?.end();
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** What aiohttp's client reads from `url` for each [path, Accept-Encoding]. */
function aiohttpFetch(
  url: string,
  pairs: [string, string][],
): Promise<{ status: number; encoding: string | null; length: number; sha256: string }[]> {
  return new Promise((resolve, reject) => {
    execFile(
      '/usr/bin/python3',
      [PEER, 'fetch', url, ...pairs.flat()],
      { timeout: 60_000 },
      (err, stdout, stderr) => {
        if (err)
          reject(new Error(`the aiohttp client failed. ${NEEDS}:\n${stderr}`, { cause: err }));
        else
          resolve(
            stdout
              .trim()
              .split('\n')
              .map((l) => JSON.parse(l)),
          );
      },
    );
  });
}

const sha256 = (b: string | Buffer): string => createHash('sha256').update(b).digest('hex');

describe('against aiohttp 3.8', () => {
  let peer: { url: string; stop(): Promise<void> };
  before(async () => {
    peer = await aiohttpServer();
  });
  after(() => peer.stop());

  it("each client decodes the other's server: a coded Response, StreamResponse and .gz sibling", async () => {
    const app = new Application();
    app.router.addGet('/text', compressed(TEXT));
    app.router.addGet('/stream', async (request) => {
      const r = new StreamResponse();
      r.enableCompression();
      await r.prepare(request);
      for (let i = 0; i < TEXT.length; i += 5000) await r.write(TEXT.slice(i, i + 5000));
      await r.writeEof();
      return r;
    });
    app.router.addGet('/file', () => new FileResponse(join(dir, 'a.txt')));
    await using s = await serve(app);
    const got = await aiohttpFetch(s.url, [
      ['/text', 'gzip, deflate'],
      ['/text', 'gzip'],
      ['/stream', 'gzip, deflate'],
      ['/stream', 'gzip'],
      ['/file', 'gzip, deflate'],
    ]);
    const text = { length: Buffer.byteLength(TEXT), sha256: sha256(TEXT) };
    const sibling = { length: 17, sha256: sha256('from the sibling\n') };
    assert.deepEqual(got, [
      { status: 200, encoding: 'deflate', ...text },
      { status: 200, encoding: 'gzip', ...text },
      { status: 200, encoding: 'deflate', ...text },
      { status: 200, encoding: 'gzip', ...text },
      { status: 200, encoding: 'gzip', ...sibling },
    ]);
    await using session = new ClientSession();
    for (const path of ['/text', '/stream']) {
      for (const accept of ['gzip, deflate', 'gzip']) {
        await using r = await session.get(`${peer.url}${path}`, {
          headers: { 'accept-encoding': accept },
        });
        assert.equal(r.headers.get('content-encoding'), accept === 'gzip' ? 'gzip' : 'deflate');
        assert.equal(await r.text(), TEXT);
      }
    }
    await using f = await session.get(`${peer.url}/file`);
    assert.equal(f.headers.get('content-encoding'), 'gzip');
    assert.equal(await f.text(), 'from the sibling\n');
  });

  it('both servers choose the same coding for the same plain Accept-Encoding', async () => {
    const app = new Application();
    app.router.addGet('/text', compressed(TEXT));
    app.router.addGet('/stream', async (request) => {
      const r = new StreamResponse();
      r.enableCompression();
      await r.prepare(request);
      await r.writeEof(TEXT);
      return r;
    });
    app.router.addGet('/file', () => new FileResponse(join(dir, 'a.txt')));
    await using s = await serve(app);
    for (const path of ['/text', '/stream', '/file']) {
      for (const accept of [
        null,
        'gzip, deflate',
        'gzip',
        'deflate',
        'x-gzip',
        'identity',
        '*',
        'deflate, gzip',
      ]) {
        const headers: Record<string, string> =
          accept === null ? {} : { 'accept-encoding': accept };
        const w = await get(s.url, path, headers);
        const a = await get(peer.url, path, headers);
        const what = `${path} with Accept-Encoding: ${accept}`;
        assert.equal(w.headers['content-encoding'], a.headers['content-encoding'], what);
        assert.equal(w.status, a.status, what);
      }
    }
  });
});
