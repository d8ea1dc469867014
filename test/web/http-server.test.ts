/**
 * The server's own answers (no handler's response involved) against aiohttp 3.8's `handle_error`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TimeoutError } from '../../src/internal/errors.js';
import { Application } from '../../src/web/application.js';
import { HTTPNotFound } from '../../src/web/http-exceptions.js';
import { checkLeaks } from '../support/leaks.js';
import { raw, serve } from './loopback.js';

checkLeaks();

const quiet = { onError: () => {} };
const get = (target: string, headers = ''): string =>
  `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${headers}\r\n`;

/** Status line, lower-cased header fields without date and connection, and the body. */
function parts(text: string): { line: string; headers: string[]; body: string } {
  const at = text.indexOf('\r\n\r\n');
  const [line, ...fields] = text.slice(0, at).split('\r\n');
  return {
    line: line as string,
    headers: fields
      .map((f) => f.toLowerCase())
      .filter((f) => !f.startsWith('date:') && !f.startsWith('connection:'))
      .sort(),
    body: text.slice(at + 4),
  };
}

describe('a failed handler', () => {
  const app = (): Application => {
    const a = new Application(quiet);
    a.router.addGet('/boom', () => {
      throw new Error('secret');
    });
    a.router.addGet('/slow', () => {
      throw new TimeoutError('upstream');
    });
    return a;
  };

  it("answers aiohttp's 500 text, or its HTML page to a client that accepts text/html", async () => {
    await using s = await serve(app());
    const plain = parts((await raw(s.port, get('/boom'))).text);
    assert.deepEqual(plain, {
      line: 'HTTP/1.1 500 Internal Server Error',
      headers: ['content-length: 55', 'content-type: text/plain; charset=utf-8'],
      body: '500 Internal Server Error\n\nServer got itself in trouble',
    });
    const html = parts(
      (await raw(s.port, get('/boom', 'Accept: text/html,application/xhtml+xml,*/*\r\n'))).text,
    );
    assert.deepEqual(html, {
      line: 'HTTP/1.1 500 Internal Server Error',
      headers: ['content-length: 145', 'content-type: text/html; charset=utf-8'],
      body:
        '<html><head><title>500 Internal Server Error</title></head><body>\n' +
        '<h1>500 Internal Server Error</h1>\nServer got itself in trouble\n</body></html>\n',
    });
  });

  it('answers an uncaught TimeoutError 504 with no body, typed text/plain, as aiohttp', async () => {
    await using s = await serve(app());
    assert.deepEqual(parts((await raw(s.port, get('/slow'))).text), {
      line: 'HTTP/1.1 504 Gateway Timeout',
      headers: ['content-length: 0', 'content-type: text/plain'],
      body: '',
    });
  });

  it('an HTTPException whose head Node refuses to write is answered 500, not left waiting', async () => {
    const a = new Application(quiet);
    a.router.addGet('/nf', () => {
      // Headers accepts a control character that Node's writeHead refuses.
      throw new HTTPNotFound({ headers: { 'x-a': 'a\u0001b' } });
    });
    await using s = await serve(a);
    const r = await raw(s.port, get('/nf'), { timeout: 3000 });
    assert.equal(r.status, 500);
    assert.equal(r.closed, true);
  });
});
