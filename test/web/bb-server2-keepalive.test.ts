/**
 * A kept-alive connection after a handler that left part of the request body unread: the
 * connection must go on to its next request (aiohttp 3.8 drains the rest of the payload and
 * answers it), not stall until the keep-alive timeout drops it with the request unanswered.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { Application } from '../../src/web/application.js';
import { Response } from '../../src/web/response.js';
import { checkLeaks } from '../support/leaks.js';
import { serve } from './loopback.js';

checkLeaks();

/** Writes `parts` on one connection and collects everything until the server closes it. */
function exchange(port: number, parts: (string | Buffer)[], timeout: number): Promise<string> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    let text = '';
    const t = setTimeout(() => sock.destroy(), timeout);
    sock.on('data', (d) => {
      text += d.toString('latin1');
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      clearTimeout(t);
      resolve(text);
    });
    sock.once('connect', () => {
      for (const p of parts) sock.write(p);
    });
  });
}

function app(): Application {
  const a = new Application();
  a.router.addPost('/peek', async (request) => {
    // Reads the start of the body through the stream and answers without the rest.
    const head = await request.content.read(10);
    return new Response({ text: `peeked ${head.length}` });
  });
  a.router.addGet('/next', () => new Response({ text: 'next' }));
  return a;
}

describe('a request body left half-read through content', () => {
  for (const [name, size] of [
    ['a small body (one read)', 100],
    ['a body larger than the stream buffer', 4 * 1024 * 1024],
  ] as const) {
    it(`is drained and the pipelined request after it is answered: ${name}`, async () => {
      await using s = await serve(app());
      const text = await exchange(
        s.port,
        [
          `POST /peek HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\n\r\n`,
          Buffer.alloc(size, 97),
          'GET /next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
        ],
        30_000,
      );
      const statuses = text.match(/HTTP\/1\.1 \d{3}/g) ?? [];
      assert.deepEqual(statuses, ['HTTP/1.1 200', 'HTTP/1.1 200']);
      assert.match(text, /\r\n\r\npeeked 10HTTP\/1\.1 200 OK\r\n/);
      assert.ok(text.endsWith('\r\n\r\nnext'), text.slice(-60));
    });
  }
});
