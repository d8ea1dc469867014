/**
 * Requests with an `Upgrade` header whose client goes away before the handler answered: Node
 * hands such a socket over bare (no 'error' listener of its own, no request tracking), so the
 * server must guard it. Raw sockets (node:net), as a misbehaving client sends.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { sleep } from '../../src/asyncio/index.js';
import { Application } from '../../src/web/application.js';
import { Response } from '../../src/web/response.js';
import { WebSocketResponse } from '../../src/web/web-socket-response.js';
import { checkLeaks } from '../support/leaks.js';
import { raw, serve } from './loopback.js';

checkLeaks();

const WS_HANDSHAKE =
  'GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

function opened(port: number): Promise<Socket> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    sock.on('error', () => {});
    sock.once('connect', () => resolve(sock));
  });
}

/** Polls `cond` every 10 ms, for at most `ms`. */
async function until(cond: () => boolean, ms: number): Promise<boolean> {
  for (let waited = 0; waited < ms && !cond(); waited += 10) {
    await new Promise((r) => setTimeout(r, 10));
  }
  return cond();
}

describe('an upgrade request whose client leaves before the answer', () => {
  it('a reset does not crash the server; the handler is cancelled', async () => {
    const log: string[] = [];
    const errors: unknown[] = [];
    const a = new Application({ onError: (e) => errors.push(e) });
    a.router.addGet('/slow', async () => {
      try {
        await sleep(30_000);
      } catch (e) {
        log.push((e as Error).name);
        throw e;
      }
      return new Response({ text: 'slow' });
    });
    a.router.addGet('/ok', () => new Response({ text: 'ok' }));
    await using s = await serve(a);
    const sock = await opened(s.port);
    // Any route, any protocol: Node treats every request with `Connection: Upgrade` so.
    sock.write('GET /slow HTTP/1.1\r\nHost: x\r\nUpgrade: foo\r\nConnection: Upgrade\r\n\r\n');
    assert.ok(await until(() => s.runner.inflight === 1, 20_000));
    sock.resetAndDestroy();
    // Before the fix the server socket's ECONNRESET was an unhandled 'error' event: the
    // process died here.
    assert.ok(await until(() => s.runner.inflight === 0, 20_000), 'the handler still runs');
    assert.deepEqual(log, ['CancelledError']);
    const r = await raw(s.port, 'GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', {
      timeout: 20_000,
    });
    assert.equal(r.status, 200);
    assert.deepEqual(errors, []);
  });

  it('a WebSocket handshake reset before prepare() cancels the handler', async () => {
    const log: string[] = [];
    const a = new Application({
      onError: (e) => log.push(`onError ${(e as Error).message}`),
      // An authentication step, a database look-up: the handshake waits behind it.
      middlewares: [
        async (request, handler) => {
          try {
            await sleep(30_000);
          } catch (e) {
            log.push((e as Error).name);
            throw e;
          }
          return handler(request);
        },
      ],
    });
    a.router.addGet('/ws', async (request) => {
      const ws = new WebSocketResponse();
      await ws.prepare(request);
      return ws;
    });
    await using s = await serve(a);
    const sock = await opened(s.port);
    sock.write(WS_HANDSHAKE);
    assert.ok(await until(() => s.runner.inflight === 1, 20_000));
    sock.resetAndDestroy();
    assert.ok(await until(() => s.runner.inflight === 0, 20_000), 'the handler still runs');
    assert.deepEqual(log, ['CancelledError']);
  });

  it('prepare() on a connection the client half-closed raises ConnectionResetError, no hang', async () => {
    const log: string[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const a = new Application({ onError: (e) => log.push(`onError ${(e as Error).message}`) });
    a.router.addGet('/ws', async (request) => {
      await gate;
      const ws = new WebSocketResponse();
      try {
        await ws.prepare(request);
        log.push('prepared');
      } catch (e) {
        log.push((e as Error).name);
        throw e;
      }
      return ws;
    });
    await using s = await serve(a);
    const sock = await opened(s.port);
    const closed = new Promise<void>((r) => sock.once('close', () => r()));
    sock.write(WS_HANDSHAKE);
    assert.ok(await until(() => s.runner.inflight === 1, 20_000));
    sock.end();
    await until(() => sock.readableEnded || sock.writableFinished, 200);
    await new Promise((r) => setTimeout(r, 50));
    release();
    // Before the fix `ws` dropped the socket and prepare() never settled: the request stayed
    // in flight for ever.
    assert.ok(await until(() => s.runner.inflight === 0, 20_000), 'prepare() never settled');
    // The client's leaving is not a server error.
    assert.deepEqual(log, ['ConnectionResetError']);
    await closed;
  });
});
