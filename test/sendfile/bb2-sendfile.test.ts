import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { _forceCopyLoop, sendfile } from '../../src/sendfile/sendfile.js';
import { createConnection, createServer, OSError, type Socket } from '../../src/socket/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

const dir = mkdtempSync(join(tmpdir(), 'weft-bb2-sendfile-'));
const path = join(dir, 'ten.bin');
writeFileSync(path, '0123456789');
after(() => rmSync(dir, { recursive: true, force: true }));

async function pair(): Promise<{ sock: Socket; conn: Socket; close: () => void }> {
  const srv = await createServer(['127.0.0.1', 0]);
  const [, port] = srv.getsockname() as [string, number];
  const sock = await createConnection(['127.0.0.1', port]);
  const [conn] = await srv.accept();
  srv.close();
  const close = (): void => {
    sock.close();
    conn.close();
  };
  return { sock, conn, close };
}

async function readAll(conn: Socket): Promise<string> {
  let got = '';
  for (let d = await conn.recv(100); d.length > 0; d = await conn.recv(100)) got += d;
  return got;
}

for (const backend of sendfile.native ? ['kernel', 'copy'] : ['copy']) {
  describe(`bug bash bb2 (sendfile, ${backend})`, () => {
    test('a directory fails with EISDIR on every path, and the socket goes on: nothing of it was sent', async () => {
      // Python: open(dir) raises IsADirectoryError, and socket.sendfile of a directory's
      // descriptor gives up on os.sendfile (EINVAL, before a byte went) and falls back to
      // read(), IsADirectoryError again. weft's kernel path said EINVAL, its copy loop EISDIR.
      _forceCopyLoop(backend === 'copy');
      const p = await pair();
      try {
        const isDir = (e: unknown): boolean => {
          assert.ok(e instanceof OSError, String(e));
          assert.equal(e.errnoName, 'EISDIR');
          return true;
        };
        await assert.rejects(sendfile(p.sock, dir), isDir);
        const fd = openSync(dir, 'r');
        try {
          await assert.rejects(sendfile(p.sock, fd, { offset: 0, count: 5 }), isDir);
        } finally {
          closeSync(fd);
        }
        assert.equal(await sendfile(p.sock, path, { offset: 2, count: 3 }), 3);
        p.sock.close();
        assert.equal(await readAll(p.conn), '234');
      } finally {
        _forceCopyLoop(false);
        p.close();
      }
    });
  });
}

describe('bug bash bb2 (sendfile arguments)', () => {
  test("a descriptor past a C int's range is a RangeError of sendfile's, before anything is held", async () => {
    // Python: os.sendfile(sock, 2**31, 0, 10) raises OverflowError "Python int too large to
    // convert to C int". weft passed Node's fstat message on, after holding the socket's writes.
    const p = await pair();
    try {
      for (const fd of [2 ** 31, 1e10, Number.MAX_SAFE_INTEGER]) {
        await assert.rejects(sendfile(p.sock, fd), {
          name: 'RangeError',
          message: new RegExp(`^sendfile: file descriptor ${fd} is out of range`),
        });
      }
      assert.equal(await sendfile(p.sock, path, { count: 2 }), 2);
      p.sock.close();
      assert.equal(await readAll(p.conn), '01');
    } finally {
      p.close();
    }
  });
});
