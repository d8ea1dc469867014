/**
 * Cookie values against aiohttp 3.8 (Python's `Morsel`): `value` is unquoted, `codedValue` is
 * what goes on the wire; `resp.cookies` holds the cookies of that response's `Set-Cookie`
 * headers, whether or not the jar kept them.
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

function app(): Application {
  const a = new Application();
  a.router.addGet('/set', () => {
    const r = new Response({ text: 'set' });
    for (const line of [
      'q="a b"; Path=/',
      'o=1; Domain=other.example',
      'e=; Max-Age=0',
      'esc="a\\"b\\073c"; Path=/',
      'q=second; Path=/',
    ]) {
      r.headers.append('set-cookie', line);
    }
    return r;
  });
  a.router.addGet('/hop', () => {
    const r = new Response({ status: 302, headers: { location: '/plain' } });
    r.headers.append('set-cookie', 'hop=1; Path=/');
    return r;
  });
  a.router.addGet('/plain', () => new Response({ text: 'plain' }));
  a.router.addGet('/echo', (r) => new Response({ text: r.headers.cookie ?? '' }));
  return a;
}

describe('Cookie value and codedValue (aiohttp Morsel parity)', () => {
  it('a quoted Set-Cookie value is unquoted in value and sent back as its codedValue', async () => {
    await using s = await serve(app());
    await using session = new ClientSession({
      baseUrl: s.url,
      cookieJar: new CookieJar({ unsafe: true }),
    });
    (await session.get('/set')).release();
    const byName = new Map([...session.cookieJar].map((c) => [c.name, c]));
    // Python: SimpleCookie('esc="a\\"b\\073c"')['esc'] → value 'a"b;c', coded '"a\\"b\\073c"'.
    assert.deepEqual(
      [byName.get('esc')?.value, byName.get('esc')?.codedValue],
      ['a"b;c', '"a\\"b\\073c"'],
    );
    assert.deepEqual([byName.get('q')?.value, byName.get('q')?.codedValue], ['second', 'second']);
    // aiohttp sent: 'esc="a\\"b\\073c"; q=second' (it sorts by name; the order is no matter).
    const sent = (await (await session.get('/echo')).text()).split('; ').sort();
    assert.deepEqual(sent, ['esc="a\\"b\\073c"', 'q=second']);
  });

  it('cookies given as a map are coded as SimpleCookie codes them when sent', async () => {
    await using s = await serve(app());
    await using session = new ClientSession({
      baseUrl: s.url,
      cookies: { m: 'x y', n: 'a;b', p: 'plain', z: '' },
    });
    // aiohttp 3.8: ClientSession(cookies={'m': 'x y', 'n': 'a;b', ...}) sends these.
    assert.equal(await (await session.get('/echo')).text(), 'm="x y"; n="a\\073b"; p=plain; z=""');
    const m = [...session.cookieJar].find((c) => c.name === 'm');
    assert.deepEqual([m?.value, m?.codedValue], ['x y', '"x y"']);
  });
});

describe('ClientResponse.cookies (aiohttp resp.cookies)', () => {
  it("holds the response's Set-Cookie cookies, the jar's refusals included", async () => {
    await using s = await serve(app());
    // The default jar refuses cookies from an IP-address host: resp.cookies still has them.
    await using session = new ClientSession({ baseUrl: s.url });
    const resp = await session.get('/set');
    resp.release();
    assert.equal(session.cookieJar.size, 0);
    assert.deepEqual([...resp.cookies.keys()], ['q', 'o', 'e', 'esc']);
    const q = resp.cookies.get('q');
    // A name sent twice: the later header wins, as SimpleCookie.load.
    assert.deepEqual([q?.value, q?.codedValue, q?.path], ['second', 'second', '/']);
    assert.equal(resp.cookies.get('o')?.domain, 'other.example');
    assert.equal(resp.cookies.get('e')?.expires, 0);
    assert.equal(resp.cookies.get('esc')?.value, 'a"b;c');
  });

  it("a redirect's cookies are on its response in history, not the final one", async () => {
    await using s = await serve(app());
    await using session = new ClientSession({ baseUrl: s.url });
    const resp = await session.get('/hop');
    assert.equal(await resp.text(), 'plain');
    assert.equal(resp.cookies.size, 0);
    assert.equal(resp.history[0]?.cookies.get('hop')?.value, '1');
  });
});
