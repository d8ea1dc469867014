/**
 * RouteTableDef, the route makers (`get`, `post`, … as aiohttp's `web.get`) and
 * `router.addRoutes` / `addView`. The expected answers were checked against aiohttp 3.8.4 with
 * the same routes (/usr/bin/python3): GET answers HEAD, a View answers only the methods it
 * defines (405 with `Allow` otherwise, HEAD included), a definition that is not one is refused.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Application } from '../../src/web/application.js';
import * as web from '../../src/web/index.js';
import type { Request } from '../../src/web/request.js';
import { Response } from '../../src/web/response.js';
import { type RouteDef, RouteTableDef, StaticDef } from '../../src/web/route-table-def.js';
import { View } from '../../src/web/view.js';
import { checkLeaks } from '../support/leaks.js';
import { serve } from './loopback.js';

checkLeaks();

const dir = mkdtempSync(join(tmpdir(), 'weft-route-table-'));
writeFileSync(join(dir, 'a.txt'), 'static a');
after(() => rmSync(dir, { recursive: true, force: true }));

const text = (t: string) => (_request: Request) => new Response({ text: t });

/** Status, Allow and body of `method path`. */
async function ask(
  url: string,
  method: string,
  path: string,
): Promise<[number, string | null, string]> {
  const r = await fetch(url + path, { method });
  return [r.status, r.headers.get('allow'), await r.text()];
}

describe('RouteTableDef', () => {
  it('routes.get(path)(handler) records the route and returns the handler unchanged', async () => {
    const routes = new RouteTableDef();
    const index = text('index');
    assert.equal(routes.get('/')(index), index);
    const create = text('created');
    assert.equal(routes.post('/items', create), create, 'the one-call form returns it too');
    routes.put('/items')(text('put'));
    routes.patch('/items')(text('patch'));
    routes.delete('/items')(text('delete'));
    routes.head('/only-head')(text('head'));
    routes.options('/items')(text('options'));
    routes.route('PURGE', '/items')(text('purge'));
    assert.equal(routes.length, 8);
    const defs = [...routes] as RouteDef[];
    assert.deepEqual(
      defs.map((d) => `${d.method} ${d.path}`),
      [
        'GET /',
        'POST /items',
        'PUT /items',
        'PATCH /items',
        'DELETE /items',
        'HEAD /only-head',
        'OPTIONS /items',
        'PURGE /items',
      ],
    );
    assert.equal(defs[0]?.handler, index);
    assert.equal(routes.at(1), defs[1]);
    assert.ok(routes.includes(defs[2] as RouteDef));

    const app = new Application();
    const added = app.router.addRoutes(routes);
    assert.equal(added.length, 8);
    await using s = await serve(app);
    assert.deepEqual(await ask(s.url, 'GET', '/'), [200, null, 'index']);
    // GET answers HEAD (aiohttp's add_get); the others only their method.
    assert.deepEqual(await ask(s.url, 'HEAD', '/'), [200, null, '']);
    for (const m of ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'PURGE']) {
      const [status, , body] = await ask(s.url, m, '/items');
      assert.equal(status, 200, m);
      if (m !== 'OPTIONS') assert.equal(body, m === 'POST' ? 'created' : m.toLowerCase());
    }
    const [status, allow] = await ask(s.url, 'GET', '/items');
    assert.equal(status, 405);
    assert.deepEqual(allow?.split(/,\s*/).sort(), [
      'DELETE',
      'OPTIONS',
      'PATCH',
      'POST',
      'PURGE',
      'PUT',
    ]);
  });

  it('options reach the router: name for urlFor, allowHead false', async () => {
    const routes = new RouteTableDef();
    routes.get('/user/{id}', { name: 'user', allowHead: false })(text('user'));
    const app = new Application();
    app.router.addRoutes(routes);
    assert.equal(app.router.urlFor('user', { id: 'a b' }), '/user/a%20b');
    await using s = await serve(app);
    assert.equal((await ask(s.url, 'HEAD', '/user/1'))[0], 405);
    assert.equal((await ask(s.url, 'GET', '/user/1'))[2], 'user');
  });

  it('routes.static serves a directory; routes.view a View class', async () => {
    const routes = new RouteTableDef();
    assert.equal(routes.static('/files', dir), undefined);
    class Users extends View {
      async get() {
        return new Response({ text: `get ${this.request.query.get('q')}` });
      }
      async post() {
        return new Response({ text: `post ${await this.request.text()}`, status: 201 });
      }
    }
    assert.equal(routes.view('/users')(Users), Users);
    assert.ok(routes.at(0) instanceof StaticDef);
    const app = new Application();
    app.router.addRoutes(routes);
    await using s = await serve(app);
    assert.deepEqual(await ask(s.url, 'GET', '/files/a.txt'), [200, null, 'static a']);
    assert.deepEqual(await ask(s.url, 'GET', '/users?q=1'), [200, null, 'get 1']);
    const r = await fetch(`${s.url}/users`, { method: 'POST', body: 'x' });
    assert.deepEqual([r.status, await r.text()], [201, 'post x']);
    // aiohttp: 405 with the methods the class defines; HEAD is not GET for a View.
    for (const m of ['DELETE', 'HEAD']) {
      const [status, allow] = await ask(s.url, m, '/users');
      assert.equal(status, 405, m);
      assert.deepEqual(allow?.split(/,\s*/).sort(), ['GET', 'POST']);
    }
  });

  it('works as a standard decorator of static methods and View classes', async () => {
    const routes = new RouteTableDef();
    // biome-ignore lint/complexity/noStaticOnlyClass: method decorators need a class to sit on
    class Api {
      @routes.get('/status')
      static async status(_request: Request) {
        return new Response({ text: 'up' });
      }
      @routes.post('/echo')
      static async echo(request: Request) {
        return new Response({ text: await request.text() });
      }
    }
    @routes.view('/thing')
    class Thing extends View {
      async get() {
        return new Response({ text: 'thing' });
      }
    }
    assert.equal(typeof Api.status, 'function', 'the method stays as it was');
    assert.ok(Thing.prototype instanceof View);
    const app = new Application();
    app.router.addRoutes(routes);
    await using s = await serve(app);
    assert.equal((await ask(s.url, 'GET', '/status'))[2], 'up');
    const r = await fetch(`${s.url}/echo`, { method: 'POST', body: 'hi' });
    assert.equal(await r.text(), 'hi');
    assert.equal((await ask(s.url, 'GET', '/thing'))[2], 'thing');
  });

  it('a route decorator on an instance method is refused: the router has no instance', () => {
    const routes = new RouteTableDef();
    assert.throws(() => {
      class Api {
        readonly greeting = 'hi';
        // @ts-expect-error the router would call it with `this` undefined
        @routes.get('/inst')
        async inst(_request: Request) {
          return new Response({ text: this.greeting });
        }
      }
      return Api;
    }, /static method or a View class: received an instance method \(inst\)/);
    assert.equal(routes.length, 0);
    // @ts-expect-error routes.view(path) decorates View classes only
    assert.throws(() => routes.view('/x')(text('x')), TypeError);
  });

  it('view() refuses what is not a View class', () => {
    const routes = new RouteTableDef();
    assert.throws(() => routes.view('/x')(text('x') as never), TypeError);
    assert.throws(() => web.view('/x', text('x') as never), TypeError);
    assert.equal(routes.length, 0);
  });
});

describe('route makers and addRoutes', () => {
  it('web.get, web.post, …, web.delete, web.static, web.view make definitions addRoutes takes', async () => {
    class Item extends View {
      async put() {
        return new Response({ text: 'put item' });
      }
    }
    const defs = [
      web.get('/', text('root'), { name: 'root' }),
      web.post('/', text('posted')),
      web.put('/p', text('put')),
      web.patch('/p', text('patch')),
      web.delete('/p', text('deleted')),
      web.head('/h', text('head')),
      web.options('/p', text('options')),
      web.route('PURGE', '/p', text('purged')),
      web.view('/item', Item),
      web.static('/s', dir),
    ];
    assert.ok(defs.slice(0, -1).every((d) => d instanceof web.RouteDef));
    assert.ok(defs.at(-1) instanceof web.StaticDef);
    const app = new Application();
    const resources = app.router.addRoutes(defs);
    assert.equal(resources.length, defs.length);
    assert.equal(app.router.urlFor('root'), '/');
    await using s = await serve(app);
    assert.deepEqual(await ask(s.url, 'POST', '/'), [200, null, 'posted']);
    assert.deepEqual(await ask(s.url, 'DELETE', '/p'), [200, null, 'deleted']);
    assert.deepEqual(await ask(s.url, 'PURGE', '/p'), [200, null, 'purged']);
    assert.deepEqual(await ask(s.url, 'PUT', '/item'), [200, null, 'put item']);
    assert.deepEqual(await ask(s.url, 'GET', '/s/a.txt'), [200, null, 'static a']);
    assert.equal((await ask(s.url, 'GET', '/item'))[0], 405);
  });

  it('routes for one exact path added apart all answer, in aiohttp order', async () => {
    // Checked with aiohttp 3.8.4: POST post, OPTIONS pattern (the /{x} route comes first),
    // PUT put, GET 405 with OPTIONS, POST, PUT. The router used to try only the first resource
    // of an exact path, so the PUT below answered 405.
    const app = new Application();
    app.router.addRoutes([
      web.post('/items', text('post')),
      web.route('OPTIONS', '/{x}', text('pattern')),
      web.route('OPTIONS', '/items', text('exact')),
      web.put('/items', text('put')),
    ]);
    await using s = await serve(app);
    assert.deepEqual(await ask(s.url, 'POST', '/items'), [200, null, 'post']);
    assert.deepEqual(await ask(s.url, 'OPTIONS', '/items'), [200, null, 'pattern']);
    assert.deepEqual(await ask(s.url, 'PUT', '/items'), [200, null, 'put']);
    const [status, allow] = await ask(s.url, 'GET', '/items');
    assert.equal(status, 405);
    assert.deepEqual(allow?.split(/,\s*/).sort(), ['OPTIONS', 'POST', 'PUT']);
    // A later resource of an exact path does not answer another path.
    assert.equal((await ask(s.url, 'PUT', '/other'))[0], 405);
  });

  it('addView and a View class given to addGet serve it', async () => {
    class V extends View {
      async get() {
        return new Response({ text: 'v' });
      }
    }
    const app = new Application();
    app.router.addView('/v', V);
    app.router.addGet('/g', V);
    await using s = await serve(app);
    assert.equal((await ask(s.url, 'GET', '/v'))[2], 'v');
    assert.equal((await ask(s.url, 'GET', '/g'))[2], 'v');
    assert.throws(() => app.router.addView('/x', text('x') as never), TypeError);
  });

  it('refuses what is not a route definition, and changes to a frozen router', async () => {
    const app = new Application();
    assert.throws(() => app.router.addRoutes(null as never), TypeError);
    assert.throws(() => app.router.addRoutes([['GET', '/x', text('x')]] as never), TypeError);
    assert.throws(
      () => app.router.addRoutes([web.post('/x', text('x'), { allowHead: false })]),
      /allowHead/,
    );
    assert.throws(() => web.get('/x', 'handler' as never), TypeError);
    await using s = await serve(app);
    assert.ok(s.url);
    assert.throws(() => app.router.addRoutes([web.get('/late', text('late'))]), /frozen/);
  });
});
