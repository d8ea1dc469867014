import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Application } from '../../src/web/application.js';
import type { Request } from '../../src/web/request.js';
import { type Handler, Resource } from '../../src/web/resource.js';
import { Response } from '../../src/web/response.js';
import { checkLeaks } from '../support/leaks.js';
import { serve } from './loopback.js';

checkLeaks();

const text = (t: string) => () => new Response({ text: t });

/** What the pattern must match: the aiohttp definition, as one RegExp with named groups. */
function reference(pattern: string): RegExp {
  let src = '';
  let i = 0;
  while (i < pattern.length) {
    const open = pattern.indexOf('{', i);
    if (open === -1) {
      src += pattern.slice(i).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      break;
    }
    src += pattern.slice(i, open).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    let depth = 1;
    let j = open + 1;
    while (depth > 0) {
      if (pattern[j] === '{') depth++;
      else if (pattern[j] === '}') depth--;
      j++;
    }
    const inner = pattern.slice(open + 1, j - 1);
    const colon = inner.indexOf(':');
    const name = colon === -1 ? inner : inner.slice(0, colon);
    src += `(?<${name}>${colon === -1 ? '[^{}/]+' : inner.slice(colon + 1)})`;
    i = j;
  }
  return new RegExp(`^${src}$`);
}

function resolveAt(pattern: string, path: string): Record<string, string> | null {
  const r = new Resource(pattern, null);
  const h: Handler = () => new Response();
  r._compiled = new Map([['GET', h]]);
  const request = { method: 'GET', matchInfo: {}, _allowed: null } as unknown as Request;
  return r._resolve(request, path) === h ? { ...request.matchInfo } : null;
}

describe('router', () => {
  it('resolve matches exactly what the pattern RegExp matches, segment matcher or not', () => {
    const patterns = [
      '/{id}',
      '/a/{x}/b/{y}',
      '/user{id}',
      '/{a}/{b}',
      '/x/{name}/',
      '/{id}.json',
      '/f/{v:(\\d+)-(\\d+)}/{w}',
      '/n/{id:\\d{1,3}}/{rest:.*}',
    ];
    const paths = [
      '/',
      '/42',
      '/a%20b',
      '/a/1/b/2',
      '/a/1/b/',
      '/a//b/2',
      '/user',
      '/user7',
      '/user7/',
      '/p/q',
      '/p/q/r',
      '/x/n/',
      '/x/n',
      '/7.json',
      '/{x}',
      '/a{b',
      '/f/12-34/z',
      '/f/12-34/',
      '/n/123/a/b',
      '/n/1234/a',
      '/bad%zz',
    ];
    for (const pattern of patterns) {
      const re = reference(pattern);
      for (const path of paths) {
        const m = re.exec(path);
        const want =
          m === null
            ? null
            : Object.fromEntries(
                Object.entries(m.groups ?? {}).map(([k, v]) => {
                  try {
                    return [k, decodeURIComponent(v)];
                  } catch {
                    return [k, v];
                  }
                }),
              );
        assert.deepEqual(resolveAt(pattern, path), want, `${pattern} against ${path}`);
      }
    }
  });

  it('a pattern naming a parameter twice throws RangeError', () => {
    assert.throws(() => new Resource('/{a}/{a}', null), RangeError);
  });

  it('resolve with a plain and a dynamic route answers each', async () => {
    const app = new Application();
    app.router.addGet('/', (r) => new Response({ text: r.path, status: 201 }));
    app.router.addGet('/{id}', (r) => new Response({ text: r.matchInfo.id ?? '0000' }));
    await using s = await serve(app);
    const a = await fetch(`${s.url}/`);
    assert.equal(a.status, 201);
    assert.equal(await a.text(), '/');
    const b = await fetch(`${s.url}/42`);
    assert.equal(await b.text(), '42');
  });

  it('resolve with a regex parameter matches only what the regex allows', async () => {
    const app = new Application();
    app.router.addGet('/n/{id:\\d{1,3}}', (r) => new Response({ text: `num ${r.matchInfo.id}` }));
    app.router.addGet('/n/{name}', (r) => new Response({ text: `name ${r.matchInfo.name}` }));
    await using s = await serve(app);
    assert.equal(await (await fetch(`${s.url}/n/123`)).text(), 'num 123');
    assert.equal(await (await fetch(`${s.url}/n/1234`)).text(), 'name 1234');
    assert.equal(await (await fetch(`${s.url}/n/a%20b`)).text(), 'name a b');
  });

  it('resolve keeps registration order between dynamic and plain routes', async () => {
    const app = new Application();
    app.router.addGet('/{any}', text('dynamic'));
    app.router.addGet('/fixed', text('plain'));
    app.router.addGet('/other', text('plain2'));
    await using s = await serve(app);
    assert.equal(await (await fetch(`${s.url}/fixed`)).text(), 'dynamic');
  });

  it('resolve with the wrong method answers 405 with Allow', async () => {
    const app = new Application();
    app.router.addGet('/x', text('get'));
    app.router.addPost('/x', text('post'));
    await using s = await serve(app);
    const r = await fetch(`${s.url}/x`, { method: 'DELETE' });
    assert.equal(r.status, 405);
    assert.equal(r.headers.get('allow'), 'GET,HEAD,POST');
    await r.text();
    const missing = await fetch(`${s.url}/nope`);
    assert.equal(missing.status, 404);
    assert.equal(await missing.text(), '404: Not Found');
  });

  it('addRoute with "*" answers every method; HEAD falls to GET', async () => {
    const app = new Application();
    app.router.addRoute('*', '/any', (r) => new Response({ text: r.method }));
    app.router.addGet('/g', text('body'));
    await using s = await serve(app);
    assert.equal(await (await fetch(`${s.url}/any`, { method: 'PATCH' })).text(), 'PATCH');
    const h = await fetch(`${s.url}/g`, { method: 'HEAD' });
    assert.equal(h.status, 200);
    assert.equal(h.headers.get('content-length'), '4');
    assert.equal(await h.text(), '');
  });

  it('urlFor builds encoded paths for named routes, also in sub-applications', () => {
    const app = new Application();
    app.router.addGet('/users/{id}', text(''), { name: 'user' });
    const admin = new Application();
    admin.router.addGet('/items/{name}', text(''), { name: 'item' });
    app.addSubapp('/admin', admin);
    assert.equal(app.router.urlFor('user', { id: 'a b' }), '/users/a%20b');
    assert.equal(app.router.urlFor('user', { id: 7 }, { query: { q: 'x y' } }), '/users/7?q=x+y');
    assert.equal(admin.router.urlFor('item', { name: 'k' }), '/admin/items/k');
    assert.throws(() => app.router.urlFor('user'), RangeError);
    assert.throws(() => app.router.urlFor('nobody'), RangeError);
  });

  it('addRoute with bad input throws typed errors', () => {
    const app = new Application();
    assert.throws(() => app.router.addGet('no-slash', text('')), RangeError);
    assert.throws(() => app.router.addGet('/{1bad}', text('')), RangeError);
    assert.throws(() => app.router.addGet('/{x:[}', text('')), RangeError);
    assert.throws(() => app.router.addRoute('GE T', '/', text('')), RangeError);
    assert.throws(() => app.router.addGet('/', 'nope' as never), TypeError);
    app.router.addGet('/dup', text(''));
    assert.throws(() => app.router.addGet('/dup', text('')), /already registered/);
  });

  it('addRoute after the application started throws', async () => {
    const app = new Application();
    await using _s = await serve(app);
    assert.throws(() => app.router.addGet('/late', text('')), /frozen/);
  });

  it('addSubapp routes under the prefix with parent then child middlewares', async () => {
    const order: string[] = [];
    const app = new Application({
      middlewares: [
        async (req, h) => {
          order.push('parent');
          return h(req);
        },
      ],
    });
    const sub = new Application({
      middlewares: [
        async (req, h) => {
          order.push('child');
          return h(req);
        },
      ],
    });
    sub.router.addGet('/', (r) => new Response({ text: `sub root ${r.app === sub}` }));
    sub.router.addGet('/{x}', (r) => new Response({ text: `sub ${r.matchInfo.x}` }));
    app.router.addGet('/', text('root'));
    app.addSubapp('/sub', sub);
    await using s = await serve(app);
    assert.equal(await (await fetch(`${s.url}/sub/q`)).text(), 'sub q');
    assert.deepEqual(order, ['parent', 'child']);
    assert.equal(await (await fetch(`${s.url}/sub`)).text(), 'sub root true');
    assert.equal(await (await fetch(`${s.url}/`)).text(), 'root');
    assert.equal((await fetch(`${s.url}/subx`)).status, 404);
  });
});
