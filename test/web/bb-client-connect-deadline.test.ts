/**
 * `connect` bounds a request's whole wait for its slots — the host's under `limitPerHost`, then
 * the session's under `limit` — as aiohttp's connect timeout bounds getting a connection
 * (helper-130's review: aiohttp 3.8.4 raised after 1002 ms with connect 1.0, weft after 1812 ms,
 * each wait having its own timer).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClientSession } from '../../src/web/client-session.js';
import { ClientConnectorError } from '../../src/web/errors.js';
import { checkLeaks } from '../support/leaks.js';
import { type NodeServed, nodeServer } from './loopback.js';

checkLeaks();

/** Sends a head and one byte of a 1000-byte body, then nothing: each response holds its slots. */
function stallingServer(): Promise<NodeServed> {
  return nodeServer((_q, res) => {
    res.writeHead(200, { 'content-length': '1000' });
    res.write('x');
  }, '0.0.0.0');
}

describe('ClientSession: connect bounds the whole wait for slots', () => {
  it('a host slot freed late leaves only what is left of connect for the session slot', async () => {
    await using s = await stallingServer();
    const host = (h: string, p: string) => `http://${h}:${s.port}${p}`;
    await using session = new ClientSession({ limit: 2, limitPerHost: 1 });
    const r1 = await session.get(host('127.0.0.1', '/a')); // holds 127.0.0.1's slot
    const r3 = await session.get(host('localhost', '/a')); // the second session slot
    // Waits for a session slot first: the one r1 gives back goes to it.
    const r4 = session.get(host('127.0.0.2', '/a'));
    const order: string[] = [];
    const r2 = session.get(host('127.0.0.1', '/b'), { timeout: { connect: 1000 } }).then(
      () => order.push('r2 answered'),
      (e: unknown) => order.push(e instanceof ClientConnectorError ? 'r2 timed out' : String(e)),
    );
    // The host slot comes free at 700 ms; the session slot never does before the deadline.
    const freeHost = setTimeout(() => r1.release(), 700);
    // Between the deadline (1000 ms) and where a second full wait would end (1700 ms).
    await new Promise((done) => setTimeout(done, 1350));
    order.push('1350 ms');
    await r2;
    clearTimeout(freeHost);
    (await r4).release();
    r3.release();
    assert.deepEqual(order, ['r2 timed out', '1350 ms']);
  });
});
