/**
 * The Cookie header a request sends (helper-130's review, aiohttp 3.8.4 as the peer): a caller's
 * quoted value keeps its `;` when the jar's cookies are merged in, and a value beyond Latin-1
 * goes out as UTF-8 bytes instead of failing every request of the session with a TypeError.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClientSession } from '../../src/web/client-session.js';
import { checkLeaks } from '../support/leaks.js';
import { type NodeServed, nodeServer } from './loopback.js';

checkLeaks();

function cookieEcho(seen: string[]): Promise<NodeServed> {
  return nodeServer((q, res) => {
    // The header's bytes as they came (Node reads header values as Latin-1).
    seen.push(Buffer.from(String(q.headers.cookie), 'latin1').toString('utf8'));
    res.end('ok');
  });
}

describe('ClientSession: the Cookie header sent', () => {
  it("a caller's quoted ';' survives the merge with the jar's cookies", async () => {
    const seen: string[] = [];
    await using s = await cookieEcho(seen);
    await using session = new ClientSession({ cookies: { j: 'jar' } });
    const url = `http://127.0.0.1:${s.port}/`;
    await (await session.get(url, { headers: { Cookie: 'k="a;b"; m=2' } })).read();
    // aiohttp 3.8.4 sends `j=jar; k="a;b"; m=2` (sorted by name); weft keeps the caller's first.
    assert.deepEqual(seen, ['k="a;b"; m=2; j=jar']);
  });

  it('a cookie value beyond Latin-1 goes out as UTF-8, and the session goes on', async () => {
    const seen: string[] = [];
    await using s = await cookieEcho(seen);
    await using session = new ClientSession({ cookies: { e: '€' } });
    const url = `http://127.0.0.1:${s.port}/`;
    await (await session.get(url)).read();
    await (await session.get(url)).read();
    // aiohttp 3.8.4: Cookie: e="€" (UTF-8 bytes), SimpleCookie quoting a non-ASCII value.
    assert.deepEqual(seen, ['e="€"', 'e="€"']);
  });
});
