/**
 * Static files and FileResponse on what is not a regular file: a FIFO inside the served
 * directory. Opening one for reading waits for a writer, on a thread of libuv's small pool:
 * a few such requests would stall every file operation of the process. aiohttp 3.8 answers 404
 * (its static route serves only `is_file()`).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Application } from '../../src/web/application.js';
import { FileResponse } from '../../src/web/file-response.js';
import { checkLeaks } from '../support/leaks.js';
import { raw, serve } from './loopback.js';

checkLeaks();

const dir = mkdtempSync(join(tmpdir(), 'weft-bb-server2-static-'));
writeFileSync(join(dir, 'a.txt'), 'hello');
const fifo = join(dir, 'pipe');
let haveFifo = true;
try {
  execFileSync('mkfifo', [fifo]);
} catch {
  haveFifo = false;
}

/** Lets go of an open() still waiting on the FIFO (the old behaviour), so the process can exit. */
function releaseFifo(): void {
  try {
    closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
  } catch {
    // ENXIO: nobody is waiting to read it.
  }
}

after(() => {
  if (haveFifo) releaseFifo();
  rmSync(dir, { recursive: true, force: true });
});

function app(): Application {
  const a = new Application();
  a.router.addStatic('/static', dir);
  a.router.addGet('/fifo', () => new FileResponse(fifo));
  return a;
}

describe('a FIFO where a file is expected', {
  skip: !haveFifo && 'mkfifo is not available',
}, () => {
  it('a static route answers 404 for it without opening it, and still serves files', async () => {
    await using s = await serve(app(), { shutdownTimeout: 100 });
    const r = await raw(
      s.port,
      'GET /static/pipe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      {
        timeout: 5_000,
      },
    );
    releaseFifo();
    assert.equal(r.status, 404);
    const ok = await raw(
      s.port,
      'GET /static/a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    assert.equal(ok.status, 200);
    assert.match(ok.text, /\r\n\r\nhello$/);
  });

  it('FileResponse(fifo) answers 403 (not a regular file) instead of waiting for a writer', async () => {
    await using s = await serve(app(), { shutdownTimeout: 100 });
    const r = await raw(s.port, 'GET /fifo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', {
      timeout: 5_000,
    });
    releaseFifo();
    assert.equal(r.status, 403);
  });
});
