import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { currentTask } from '../../src/asyncio/task.js';
import { ConnectionResetError } from '../../src/socket/errors.js';
import { Application } from '../../src/web/application.js';
import { Response } from '../../src/web/response.js';
import { WebSocketResponse, WSMsgType } from '../../src/web/web-socket-response.js';
import { checkLeaks } from '../support/leaks.js';
import { raw, serve } from './loopback.js';

checkLeaks();

function app(log: string[] = []): Application {
  const a = new Application();
  a.router.addGet('/ws', async (request) => {
    const ws = new WebSocketResponse({ protocols: ['chat'] });
    await ws.prepare(request);
    log.push(`task ${currentTask() !== null}`);
    for await (const msg of ws) {
      if (msg.type === WSMsgType.TEXT) {
        if (msg.data === 'bye') await ws.close({ code: 4000, message: 'done' });
        else await ws.sendStr(`echo ${msg.data}`);
      } else if (msg.type === WSMsgType.BINARY) await ws.sendBytes(msg.data.reverse());
    }
    log.push(`closed ${ws.closeCode}`);
    return ws;
  });
  a.router.addGet('/plain', () => new Response({ text: 'plain' }));
  return a;
}

function open(url: string, protocols?: string[]): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function next(ws: WebSocket): Promise<string | Buffer> {
  return new Promise((resolve) =>
    ws.once('message', (d: Buffer, bin: boolean) => resolve(bin ? d : d.toString())),
  );
}

describe('WebSocketResponse', () => {
  it('echoes text and binary messages and negotiates the subprotocol', async () => {
    const log: string[] = [];
    await using s = await serve(app(log));
    const ws = await open(`${s.url.replace('http', 'ws')}/ws`, ['x', 'chat']);
    assert.equal(ws.protocol, 'chat');
    ws.send('hi');
    assert.equal(await next(ws), 'echo hi');
    ws.send(Buffer.from([1, 2, 3]));
    assert.deepEqual([...((await next(ws)) as Buffer)], [3, 2, 1]);
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    ws.send('bye');
    assert.equal(await closed, 4000);
    while (log.length < 2) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(log, ['task true', 'closed 4000']);
  });

  it('a client closing ends the handler loop', async () => {
    const log: string[] = [];
    await using s = await serve(app(log));
    const ws = await open(`${s.url.replace('http', 'ws')}/ws`);
    ws.close(1000);
    while (log.length < 2) await new Promise((r) => setTimeout(r, 5));
    assert.equal(log[1], 'closed 1000');
  });

  it('a plain GET to a WebSocket route answers 400; upgrade to a plain route is served', async () => {
    await using s = await serve(app());
    const r = await fetch(`${s.url}/ws`);
    assert.equal(r.status, 400);
    await r.text();
    const u = await raw(
      s.port,
      'GET /plain HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    assert.equal(u.status, 200);
    assert.match(u.text, /plain$/);
  });

  it('messages over maxMsgSize close the connection with 1009', async () => {
    const a = new Application();
    a.router.addGet('/ws', async (request) => {
      const ws = new WebSocketResponse({ maxMsgSize: 16 });
      await ws.prepare(request);
      for await (const _ of ws) {
        // drain
      }
      return ws;
    });
    await using s = await serve(a);
    const ws = await open(`${s.url.replace('http', 'ws')}/ws`);
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    ws.send('x'.repeat(100));
    assert.equal(await closed, 1009);
  });

  it('runner cleanup cancels a handler waiting on a WebSocket and drops the connection', async () => {
    const s = await serve(app(), { shutdownTimeout: 50 });
    const ws = await open(`${s.url.replace('http', 'ws')}/ws`);
    const closed = new Promise<void>((r) => ws.once('close', () => r()));
    await s.runner.cleanup();
    await closed;
  });

  it('sending after the client closed raises ConnectionResetError, as aiohttp does', async () => {
    const a = new Application();
    let sent: unknown = null;
    a.router.addGet('/ws', async (request) => {
      const ws = new WebSocketResponse();
      await ws.prepare(request);
      for await (const _ of ws) {
        // Drained until the client's close.
      }
      try {
        await ws.sendStr('too late');
        sent = 'sent';
      } catch (e) {
        sent = e;
      }
      return ws;
    });
    await using s = await serve(a);
    const ws = await open(`${s.url.replace('http', 'ws')}/ws`);
    ws.close(1000);
    while (sent === null) await new Promise((r) => setTimeout(r, 5));
    assert.ok(sent instanceof ConnectionResetError, String(sent));
    assert.equal(sent.errnoName, 'ECONNRESET');
    assert.match(sent.message, /Cannot send: the WebSocket is closed/);
  });
});
