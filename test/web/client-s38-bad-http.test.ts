/**
 * A server that does not speak HTTP/1.1 (a bad status line, a Content-Length that is no
 * number, not HTTP at all, a head too large) makes the request raise ClientResponseError with
 * status 400, as aiohttp 3.8 does (checked against 3.8.4), and a body whose chunked framing is
 * broken raises ClientPayloadError. Before, undici's HTTPParserError and HeadersOverflowError,
 * classes weft does not export, reached the caller.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { describe, it } from 'node:test';
import { ClientSession } from '../../src/web/client-session.js';
import { ClientPayloadError, ClientResponseError } from '../../src/web/errors.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

const ANSWERS: Record<string, string> = {
  '/bad-length': 'HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\nhello',
  '/bad-status': 'HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok',
  '/not-http': 'SSH-2.0-OpenSSH_9.2\r\n\r\n',
  '/big-head': `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(100_000)}\r\nContent-Length: 2\r\n\r\nok`,
};

async function rawServer(): Promise<{ url: string } & AsyncDisposable> {
  const server: Server = createServer((sock) => {
    sock.on('error', () => {});
    let head = '';
    sock.on('data', (d: Buffer) => {
      head += d.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      const path = head.split(' ')[1] as string;
      head = head.slice(end + 4);
      if (path === '/bad-chunk') {
        // The head and a first chunk, then a chunk size that is no number.
        sock.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n', () =>
          setTimeout(() => sock.write('zz\r\nabc\r\n0\r\n\r\n'), 20),
        );
      } else sock.write(ANSWERS[path] ?? 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    async [Symbol.asyncDispose]() {
      await new Promise((r) => server.close(r));
    },
  };
}

describe('ClientSession: a response that is not HTTP/1.1', () => {
  it('a bad head raises ClientResponseError 400 with the request, as aiohttp; the session goes on', async () => {
    await using s = await rawServer();
    await using session = new ClientSession({ baseUrl: s.url, limit: 1 });
    for (const path of Object.keys(ANSWERS)) {
      await assert.rejects(
        session.get(path),
        (e: unknown) =>
          e instanceof ClientResponseError &&
          e.status === 400 &&
          e.url === `${s.url}${path}` &&
          e.requestInfo?.method === 'GET',
        path,
      );
    }
    assert.equal(await (await session.get('/ok')).text(), 'ok');
  });

  it('a broken chunked body raises ClientPayloadError, through read() and content', async () => {
    await using s = await rawServer();
    await using session = new ClientSession({ baseUrl: s.url, limit: 1 });
    await assert.rejects((await session.get('/bad-chunk')).read(), ClientPayloadError);
    await assert.rejects((await session.get('/bad-chunk')).content.read(), ClientPayloadError);
    assert.equal(await (await session.get('/ok')).text(), 'ok');
  });
});
