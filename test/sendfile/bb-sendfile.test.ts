import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { sendfile } from '../../src/sendfile/index.js';
import { createConnection, createServer } from '../../src/socket/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

const dir = mkdtempSync(join(tmpdir(), 'weft-bb-sendfile-'));
const path = join(dir, 'ten.bin');
writeFileSync(path, '0123456789');
after(() => rmSync(dir, { recursive: true, force: true }));

describe('bug bash bb5 (sendfile)', () => {
  test('count 0 raises RangeError, as Python\'s "count must be a positive integer (got 0)"', async () => {
    using srv = await createServer(['127.0.0.1', 0]);
    const [, port] = srv.getsockname() as [string, number];
    const sock = await createConnection(['127.0.0.1', port]);
    const [conn] = await srv.accept();
    await assert.rejects(sendfile(sock, path, { count: 0 }), RangeError);
    await assert.rejects(sendfile(sock, path, { count: 0, offset: 20 }), RangeError);
    // What Python answers for the neighbours: offset past EOF → 0; count past EOF → the rest.
    assert.equal(await sendfile(sock, path, { offset: 20 }), 0);
    assert.equal(await sendfile(sock, path, { offset: 3, count: 100 }), 7);
    assert.equal(await sendfile(sock, path, { count: 1 }), 1);
    sock.close();
    let got = '';
    for (let d = await conn.recv(100); d.length > 0; d = await conn.recv(100)) got += d;
    conn.close();
    assert.equal(got, '34567890');
  });
});
