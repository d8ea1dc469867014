/**
 * A `timeout` given as a number (aiohttp 3.8 reads a request's as its total in seconds, and a
 * session's fails at the first request) was dropped without a word: the request waited the
 * default five minutes. It is a TypeError now, as is any timeout that is not an object. Options
 * of `null` read as none, rather than failing on a property of null.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClientSession } from '../../src/web/client-session.js';
import { checkLeaks } from '../support/leaks.js';
import { settles } from '../support/settles.js';
import { nodeServer } from './loopback.js';

checkLeaks();

const isTimeoutTypeError = (e: unknown): boolean =>
  e instanceof TypeError && /timeout must be an object of milliseconds/.test(e.message);

describe('ClientSession: timeout and options of the wrong form', () => {
  it('a request timeout that is not an object raises TypeError before anything is sent', async () => {
    let requests = 0;
    // A server that never answers: a dropped timeout would leave the request waiting.
    await using s = await nodeServer(() => {
      requests++;
    });
    await using session = new ClientSession({ baseUrl: s.url });
    for (const timeout of [100, '100', true, [100]]) {
      await assert.rejects(
        settles(session.get('/', { timeout: timeout as never }), 'the request', 10_000),
        isTimeoutTypeError,
        String(timeout),
      );
    }
    assert.equal(requests, 0);
  });

  it('a session timeout that is not an object raises TypeError when the session is made', () => {
    assert.throws(() => new ClientSession({ timeout: 5000 as never }), isTimeoutTypeError);
  });

  it('data: null goes with json (no data, as aiohttp data=None); data and json together raise RangeError (aiohttp ValueError)', async () => {
    await using s = await nodeServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => {
        body += d.toString();
      });
      req.on('end', () => res.end(`${req.headers['content-type']} ${body}`));
    });
    await using session = new ClientSession({ baseUrl: s.url });
    const r = await session.post('/', { data: null, json: { a: 1 } });
    assert.equal(await r.text(), 'application/json {"a":1}');
    await assert.rejects(
      session.post('/', { data: 'x', json: { a: 1 } }),
      (e: unknown) =>
        e instanceof RangeError &&
        e.message === 'data and json parameters can not be used at the same time',
    );
  });

  it('options of null are no options', async () => {
    await using s = await nodeServer((_req, res) => res.end('ok'));
    await using session = new ClientSession(null);
    const r = await session.get(`${s.url}/`, null as never);
    assert.equal(await r.text(), 'ok');
    await using session2 = new ClientSession({ baseUrl: s.url, timeout: null as never });
    assert.equal(await (await session2.request('GET', '/', null)).text(), 'ok');
  });
});
