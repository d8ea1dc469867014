/**
 * Headers that belong to the connection (undici writes them and refuses them from the caller)
 * and a Content-Length that cannot be the body's are refused with a RangeError before anything
 * is sent. Before, undici's own classes (InvalidArgumentError, NotSupportedError,
 * RequestContentLengthMismatchError), which weft does not export, reached the caller. aiohttp
 * 3.8 sends them as given: `Transfer-Encoding: chunked` beside `Content-Length: 3` and an
 * unchunked body (a malformed request), and with `Expect: 100-continue` waits for a 100 the
 * server need not send.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClientSession } from '../../src/web/client-session.js';
import { checkLeaks } from '../support/leaks.js';
import { nodeServer } from './loopback.js';

checkLeaks();

describe('ClientSession: transport headers given by the caller', () => {
  it('Transfer-Encoding, Expect, Keep-Alive, Upgrade, a bad Connection or Content-Length raise RangeError, nothing sent', async () => {
    let requests = 0;
    await using s = await nodeServer((req, res) => {
      requests++;
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    await using session = new ClientSession({ baseUrl: s.url, limit: 1 });
    const refused: [Record<string, string>, RegExp][] = [
      [{ 'Transfer-Encoding': 'chunked' }, /transfer-encoding/],
      [{ Expect: '100-continue' }, /expect/],
      [{ 'Keep-Alive': 'timeout=5' }, /keep-alive/],
      [{ Upgrade: 'foo', Connection: 'Upgrade' }, /upgrade/],
      [{ Connection: 'a b' }, /connection/],
      [{ 'Content-Length': 'abc' }, /content-length/],
      [{ 'Content-Length': '5' }, /content-length header says 5 but the body has 3 bytes/],
    ];
    for (const [headers, message] of refused) {
      await assert.rejects(
        session.post('/', { data: 'abc', headers }),
        (e: unknown) =>
          (e as Error).constructor === RangeError && message.test((e as Error).message),
        JSON.stringify(headers),
      );
    }
    // No body at all: undici would send `content-length: 0` (a GET: no header), and a server
    // believing the caller's 5 would wait for bytes that never come (aiohttp sends it as given).
    for (const method of ['POST', 'GET'] as const) {
      await assert.rejects(
        session.request(method, '/', { headers: { 'Content-Length': '5' } }),
        (e: unknown) =>
          (e as Error).constructor === RangeError &&
          /content-length header says 5 but there is no body/.test((e as Error).message),
        method,
      );
    }
    assert.equal(requests, 0);
    const empty = await session.get('/', { headers: { 'Content-Length': '0' } });
    assert.equal(await empty.text(), 'ok');
    // The slot of each refused request went back; the headers that are the caller's still go.
    const ok = await session.post('/', {
      data: 'abc',
      headers: { 'Content-Length': '3', Connection: 'close' },
    });
    assert.equal(await ok.text(), 'ok');
  });

  it("a redirect that drops the body drops the caller's Content-Length too, as aiohttp's", async () => {
    const seen: string[] = [];
    await using s = await nodeServer((req, res) => {
      seen.push(`${req.method} ${req.url} cl=${req.headers['content-length']}`);
      req.resume();
      req.on('end', () => {
        if (req.url === '/see-other' || req.url === '/found') {
          res.writeHead(req.url === '/found' ? 302 : 303, { location: '/target' });
          res.end();
        } else res.end('ok');
      });
    });
    await using session = new ClientSession({ baseUrl: s.url });
    for (const path of ['/see-other', '/found']) {
      // Before: RangeError "says 5 but there is no body" on the GET the redirect made.
      const r = await session.post(path, { data: 'hello', headers: { 'Content-Length': '5' } });
      assert.equal(r.status, 200);
      assert.equal(await r.text(), 'ok');
    }
    assert.deepEqual(seen, [
      'POST /see-other cl=5',
      'GET /target cl=undefined',
      'POST /found cl=5',
      'GET /target cl=undefined',
    ]);
  });

  it("the session's headers are checked when it is made", () => {
    assert.throws(
      () => new ClientSession({ headers: { 'Transfer-Encoding': 'chunked' } }),
      (e: unknown) =>
        (e as Error).constructor === RangeError && /transfer-encoding/.test((e as Error).message),
    );
  });

  it('a streamed body shorter than its Content-Length raises RangeError', async () => {
    await using s = await nodeServer((req, res) => {
      req.resume();
      req.on('end', () => res.end('ok'));
      req.on('error', () => {});
    });
    await using session = new ClientSession({ baseUrl: s.url });
    async function* body(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('abc');
    }
    await assert.rejects(
      session.post('/', { data: body(), headers: { 'Content-Length': '10' } }),
      (e: unknown) =>
        (e as Error).constructor === RangeError && /Content-Length/.test((e as Error).message),
    );
  });
});
