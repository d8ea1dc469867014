import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Application } from '../../src/web/application.js';
import { ClientSession } from '../../src/web/client-session.js';
import { Response } from '../../src/web/response.js';
import { checkLeaks } from '../support/leaks.js';
import { serve } from './loopback.js';

checkLeaks();

/** `/bytes?cs=…&hex=…` answers the bytes `hex` as `text/plain; charset=cs`. */
function bytesApp(): Application {
  const a = new Application();
  a.router.addGet('/bytes', (r) => {
    const q = r.query;
    return new Response({
      body: Buffer.from(q.get('hex') ?? '', 'hex'),
      headers: { 'content-type': `${q.get('type') ?? 'text/plain'}; charset=${q.get('cs')}` },
    });
  });
  return a;
}

describe('ClientResponse decoding', () => {
  it('text and json ignore a charset that has no decoder and read UTF-8, as aiohttp', async () => {
    await using s = await serve(bytesApp());
    await using session = new ClientSession({ baseUrl: s.url });
    const r = await session.get('/bytes', { params: { cs: 'x-no-such-charset', hex: '68c3a9' } });
    assert.equal(await r.text(), 'h\u00e9');
    const j = await session.get('/bytes', {
      params: { cs: 'bogus', hex: '7b2261223a22c3a9227d', type: 'application/json' },
    });
    assert.deepEqual(await j.json(), { a: '\u00e9' });
    // An encoding the caller names is not second-guessed.
    await assert.rejects(r.text('x-no-such-charset'), RangeError);
  });

  it("latin-1 is Python's: each byte is the code point of its value", async () => {
    await using s = await serve(bytesApp());
    await using session = new ClientSession({ baseUrl: s.url });
    for (const cs of ['latin-1', 'ISO-8859-1', 'latin1', 'iso_8859_1']) {
      const r = await session.get('/bytes', { params: { cs, hex: '809fe9' } });
      assert.equal(await r.text(), '\u0080\u009f\u00e9', cs);
    }
    const r = await session.get('/bytes', { params: { cs: 'utf-8', hex: '809fe9' } });
    assert.equal(await r.text('latin-1'), '\u0080\u009f\u00e9');
  });
});
