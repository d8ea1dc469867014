import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Application } from '../../src/web/application.js';
import { FileResponse } from '../../src/web/file-response.js';
import { checkLeaks } from '../support/leaks.js';
import { serve } from './loopback.js';

checkLeaks();

let dir: string;
let file: string;
const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 256));

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'weft-web-file-'));
  file = join(dir, 'data.bin');
  writeFileSync(file, data);
  writeFileSync(join(dir, 'page.html'), '<p>hi</p>');
});
after(() => rmSync(dir, { recursive: true, force: true }));

function app(): Application {
  const a = new Application();
  a.router.addGet('/f', () => new FileResponse(file));
  a.router.addGet('/html', () => new FileResponse(join(dir, 'page.html')));
  a.router.addGet('/missing', () => new FileResponse(join(dir, 'nope')));
  a.router.addStatic('/s', dir, { showIndex: true });
  return a;
}

describe('FileResponse', () => {
  it('sends the file with type, length and validators', async () => {
    await using s = await serve(app());
    const r = await fetch(`${s.url}/f`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/octet-stream');
    assert.equal(r.headers.get('content-length'), '1000');
    assert.equal(r.headers.get('accept-ranges'), 'bytes');
    const st = statSync(file, { bigint: true });
    assert.equal(r.headers.get('etag'), `"${st.mtimeNs.toString(16)}-${st.size.toString(16)}"`);
    assert.ok(r.headers.get('last-modified'));
    assert.deepEqual(Buffer.from(await r.arrayBuffer()), data);
    const h = await fetch(`${s.url}/html`);
    assert.equal(h.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(await h.text(), '<p>hi</p>');
  });

  it('If-None-Match and If-Modified-Since answer 304 without a body', async () => {
    await using s = await serve(app());
    const first = await fetch(`${s.url}/f`);
    await first.arrayBuffer();
    const etag = first.headers.get('etag') as string;
    const lm = first.headers.get('last-modified') as string;
    const a = await fetch(`${s.url}/f`, { headers: { 'if-none-match': `W/"x", ${etag}` } });
    assert.equal(a.status, 304);
    assert.equal(await a.text(), '');
    const b = await fetch(`${s.url}/f`, { headers: { 'if-modified-since': lm } });
    assert.equal(b.status, 304);
    await b.text();
    const c = await fetch(`${s.url}/f`, { headers: { 'if-none-match': '"other"' } });
    assert.equal(c.status, 200);
    await c.arrayBuffer();
    const d = await fetch(`${s.url}/f`, { headers: { 'if-match': '"other"' } });
    assert.equal(d.status, 412);
    await d.text();
  });

  it('Range requests answer 206 with the slice, 416 when unsatisfiable', async () => {
    await using s = await serve(app());
    const a = await fetch(`${s.url}/f`, { headers: { range: 'bytes=10-19' } });
    assert.equal(a.status, 206);
    assert.equal(a.headers.get('content-range'), 'bytes 10-19/1000');
    assert.deepEqual(Buffer.from(await a.arrayBuffer()), data.subarray(10, 20));
    const b = await fetch(`${s.url}/f`, { headers: { range: 'bytes=-5' } });
    assert.deepEqual(Buffer.from(await b.arrayBuffer()), data.subarray(995));
    const c = await fetch(`${s.url}/f`, { headers: { range: 'bytes=990-' } });
    assert.equal(c.headers.get('content-length'), '10');
    await c.arrayBuffer();
    const d = await fetch(`${s.url}/f`, { headers: { range: 'bytes=5000-' } });
    assert.equal(d.status, 416);
    assert.equal(d.headers.get('content-range'), 'bytes */1000');
    await d.text();
    const stale = await fetch(`${s.url}/f`, {
      headers: { range: 'bytes=0-1', 'if-range': '"old"' },
    });
    assert.equal(stale.status, 200);
    await stale.arrayBuffer();
  });

  it('a missing file answers 404; HEAD sends headers only', async () => {
    await using s = await serve(app());
    const m = await fetch(`${s.url}/missing`);
    assert.equal(m.status, 404);
    await m.text();
    const h = await fetch(`${s.url}/f`, { method: 'HEAD' });
    assert.equal(h.headers.get('content-length'), '1000');
    assert.equal(await h.text(), '');
  });

  it('addStatic serves files and an index when asked', async () => {
    await using s = await serve(app());
    assert.equal(await (await fetch(`${s.url}/s/page.html`)).text(), '<p>hi</p>');
    const idx = await (await fetch(`${s.url}/s/`)).text();
    assert.match(idx, /<a href="\/s\/data.bin">data.bin<\/a>/);
  });

  it('constructing with bad input throws', () => {
    assert.throws(() => new FileResponse('' as string), TypeError);
    assert.throws(() => new Application().router.addStatic('/x', join(dir, 'none')), RangeError);
  });
});
