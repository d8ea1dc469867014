/**
 * What helper-137's review of the server's bug-bash found, each checked against aiohttp 3.8:
 * the rest of a half-read body was drained for as long as the client sent (an endless chunked
 * body was read at full speed for ever with requestTimeout 0), and a task the handler left
 * reading it was handed the cut body as a whole one; a WebSocket's close() while its reading
 * was paused (a full inbox) never read the peer's answering close frame, so it waited 5 s and
 * ended as 1006.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { Application } from '../../src/web/application.js';
import { Response } from '../../src/web/response.js';
import { WebSocketResponse } from '../../src/web/web-socket-response.js';
import { checkLeaks } from '../support/leaks.js';
import { settles } from '../support/settles.js';
import { endlessChunkedPost, serve } from './loopback.js';

checkLeaks({ graceMs: 3000 });

describe('a body the handler left half read', () => {
  it('a task still reading it gets an error, not the cut body as a whole one', async () => {
    let outcome: Promise<string> = Promise.resolve('handler did not run');
    const a = new Application();
    a.router.addPost('/up', async (request) => {
      const reader = request.content;
      await reader.read(10);
      outcome = (async () => {
        let n = 10;
        try {
          for (;;) {
            const c = await reader.read(65536);
            if (c.length === 0) return `a clean end after ${n} bytes`;
            n += c.length;
          }
        } catch (e) {
          return (e as Error).name;
        }
      })();
      return new Response({ status: 202, text: 'accepted' });
    });
    await using s = await serve(a);
    const size = 4 * 1024 * 1024;
    const sock = connect(s.port, '127.0.0.1');
    sock.on('error', () => {});
    const answered = new Promise<string>((r) => sock.once('data', (d) => r(d.toString('latin1'))));
    sock.once('connect', () => {
      sock.write(`POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\n\r\n`);
      sock.write(Buffer.alloc(size, 97));
    });
    assert.match(await answered, /^HTTP\/1\.1 202/);
    // Old source: 'a clean end after 65491 bytes' (of 4 MiB).
    assert.equal(await settles(outcome, 'the background reader'), 'RuntimeError');
    sock.destroy();
  });

  it('a client that goes on sending is cut off, as aiohttp after its lingering time', async () => {
    const a = new Application();
    a.router.addPost('/peek', async (request) => {
      const head = await request.content.read(10);
      return new Response({ text: `peeked ${head.length}` });
    });
    // requestTimeout 0: nothing else would end the connection (the old source read for ever).
    await using s = await serve(a, { requestTimeout: 0 } as never);
    const { received, closed } = endlessChunkedPost(s.port, '/peek');
    // The cut comes 10 s after the answer; the bound is against a hang.
    await settles(closed, 'the server cutting the client off');
    assert.match(received(), /^HTTP\/1\.1 200[\s\S]*peeked 10/);
  });
});

describe("a WebSocket's close() while its reading is paused", () => {
  it("reads the peer's answering close frame: 1000, not 1006 after the 5 s timer", async () => {
    let result: Promise<number | null> = Promise.resolve(-1);
    let inboxFull!: () => void;
    const full = new Promise<void>((r) => {
      inboxFull = r;
    });
    const a = new Application();
    a.router.addGet('/ws', async (request) => {
      const ws = new WebSocketResponse();
      await ws.prepare(request);
      await full;
      result = ws.close().then(() => ws.closeCode);
      await result;
      return ws;
    });
    await using s = await serve(a);
    const c = new WebSocket(`ws://127.0.0.1:${s.port}/ws`);
    const clientClosed = new Promise<number>((r) => c.once('close', (code) => r(code)));
    await new Promise<void>((r) => c.once('open', () => r()));
    // 10 × 32 KB: past the 64 KiB inbox, so the server pauses reading.
    for (let i = 0; i < 10; i++) c.send(Buffer.alloc(32 * 1024, 1));
    await new Promise<void>((r) => c.send('last', () => r()));
    inboxFull();
    assert.equal(await settles(clientClosed, 'the client closing'), 1000);
    // Old source: 1006, after the 5 s terminate timer.
    assert.equal(await settles(result, 'close()'), 1000);
  });
});
