/**
 * Resource.urlFor against aiohttp 3.8's `url_for` (yarl's path quoting).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Application } from '../../src/web/application.js';
import { Response } from '../../src/web/response.js';
import { checkLeaks } from '../support/leaks.js';
import { serve } from './loopback.js';

checkLeaks();

const dir = mkdtempSync(join(tmpdir(), 'weft-resource-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('urlFor', () => {
  const app = new Application();
  const h = (): Response => new Response({ text: 'x' });
  app.router.addGet('/q/{x}', h, { name: 'x' });
  app.router.addGet('/t/{tail:.+}', h, { name: 't' });
  app.router.addStatic('/static', dir, { name: 'static' });

  it("leaves what a path may hold as it is and escapes the rest, as yarl's path quoting", () => {
    // aiohttp 3.8's url_for for the same values.
    assert.equal(
      app.router.urlFor('x', { x: "a+b&c=d;e:f@g$h,i'(j)*!" }),
      "/q/a+b&c=d;e:f@g$h,i'(j)*!",
    );
    assert.equal(app.router.urlFor('t', { tail: 'x/y z/é?#%' }), '/t/x/y%20z/%C3%A9%3F%23%25');
    assert.equal(
      app.router.urlFor('static', { filename: 'dir/a+b@c d.txt' }),
      '/static/dir/a+b@c%20d.txt',
    );
  });

  it('gives URLs that route back to the same values', async () => {
    const back = new Application();
    back.router.addGet('/q/{x}', (r) => new Response({ text: r.matchInfo.x }), { name: 'x' });
    back.router.addGet('/t/{tail:.+}', (r) => new Response({ text: r.matchInfo.tail }), {
      name: 't',
    });
    await using s = await serve(back);
    for (const [name, key, value] of [
      ['x', 'x', "a+b&c=d;e:f@g$h,i'(j)*! é%"],
      ['t', 'tail', 'x/y z/é?#%'],
    ] as const) {
      const res = await fetch(`${s.url}${back.router.urlFor(name, { [key]: value })}`);
      assert.equal(await res.text(), value);
    }
  });
});
