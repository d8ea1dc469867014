/**
 * The client's cookie jar against aiohttp 3.8's CookieJar: cookies stored for a URL from a map
 * are host-only with the URL's default path, and a quoted value goes back with its quotes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Application } from '../../src/web/application.js';
import { ClientSession } from '../../src/web/client-session.js';
import { CookieJar } from '../../src/web/cookie-jar.js';
import { Response } from '../../src/web/response.js';
import { checkLeaks } from '../support/leaks.js';
import { serve } from './loopback.js';

checkLeaks();

describe('CookieJar (aiohttp parity)', () => {
  it("updateCookies(map, url) stores host-only cookies with the URL's default path", () => {
    const jar = new CookieJar();
    jar.updateCookies({ a: '1' }, 'http://example.com/dir/page');
    const [c] = [...jar];
    assert.equal(c?.path, '/dir');
    assert.equal(c?.hostOnly, true);
    assert.equal(jar.filterCookies('http://example.com/dir/other').get('a'), '1');
    // Not to a subdomain (host-only), nor outside the path — as aiohttp's filter_cookies.
    assert.equal(jar.filterCookies('http://sub.example.com/dir/other').has('a'), false);
    assert.equal(jar.filterCookies('http://example.com/').has('a'), false);
  });

  it('a double-quoted cookie value is sent back with its quotes', async () => {
    const a = new Application();
    a.router.addGet('/set', () => {
      const r = new Response({ text: 'set' });
      r.headers.append('set-cookie', 'q="a b"; Path=/');
      return r;
    });
    a.router.addGet('/echo', (r) => new Response({ text: r.headers.cookie ?? '' }));
    await using s = await serve(a);
    await using session = new ClientSession({
      baseUrl: s.url,
      cookieJar: new CookieJar({ unsafe: true }),
    });
    (await session.get('/set')).release();
    assert.equal(await (await session.get('/echo')).text(), 'q="a b"');
  });
});
