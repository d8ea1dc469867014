/**
 * Unix socket paths that cannot be used, against CPython 3.11 on Linux:
 * - a path longer than `sun_path` holds: Python raises `OSError('AF_UNIX path too long')`;
 *   libuv cut it short without a word, so a server listened on another path (a prefix of the
 *   one given) and a connection went there;
 * - no socket at the path: Python's `FileNotFoundError` (errno 2), weft said `OSError`;
 * - a path in a directory that does not exist: `FileNotFoundError` too, where libuv reports
 *   EACCES (it turns bind's ENOENT into EACCES for Windows' sake) and weft said `OSError`
 *   EACCES.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { FileNotFoundError } from '../../src/asyncio/index.js';
import { AF_UNIX, SOCK_STREAM, Socket } from '../../src/socket/index.js';
import { OSError, openUnixConnection, startUnixServer } from '../../src/streams/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

const dir = mkdtempSync(join(tmpdir(), 'weft-bb-unix-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A path of `bytes` bytes in `dir`. */
function pathOf(bytes: number): string {
  const stem = join(dir, 'p');
  return stem + 'x'.repeat(bytes - Buffer.byteLength(stem));
}

const tooLong = (e: unknown): boolean => {
  assert.ok(e instanceof OSError, `got ${String(e)}`);
  assert.match((e as Error).message, /^AF_UNIX path too long/);
  assert.equal((e as OSError).errno, 0, 'no errno, as Python');
  return true;
};

const notFound = (e: unknown): boolean => {
  assert.ok(e instanceof FileNotFoundError, `got ${String(e)}`);
  assert.ok(e instanceof OSError);
  assert.equal((e as OSError).errno, 2);
  assert.equal((e as OSError).errnoName, 'ENOENT');
  return true;
};

/**
 * A server listening at `path` that closes each connection at once: a client connects there and
 * reads the EOF. `listening` runs while the server listens.
 */
async function serves(path: string, listening: () => void = () => {}): Promise<void> {
  const server = await startUnixServer(async (_r, w) => w.close(), path);
  try {
    listening();
    const [reader, writer] = await openUnixConnection(path);
    assert.equal((await reader.read()).length, 0);
    writer.close();
    await writer.waitClosed();
  } finally {
    server.close();
    await server.waitClosed();
  }
}

describe('bug bash helper-U: Unix socket paths, as in Python', () => {
  test('a path past 107 bytes is refused, and nothing listens on a shorter one', async () => {
    const long = pathOf(150);
    await assert.rejects(
      startUnixServer(async () => {}, long),
      tooLong,
    );
    assert.deepEqual(readdirSync(dir), [], 'no socket file was made under a cut path');
    await assert.rejects(openUnixConnection(long), tooLong);
    const s = new Socket(AF_UNIX, SOCK_STREAM);
    try {
      assert.throws(() => s.bind(long), tooLong);
      await assert.rejects(s.connect(long), tooLong);
    } finally {
      s.close();
    }
  });

  test('a path of 107 bytes is taken', async () => {
    const path = pathOf(107);
    await serves(path, () => assert.ok(existsSync(path)));
  });

  test('an abstract name (a leading NUL) may fill all 108 bytes; one past it is refused', {
    skip: process.platform !== 'linux' && 'abstract names are Linux only',
  }, async () => {
    const name = `\0weft-bb-${process.pid}-`;
    const full = name + 'a'.repeat(108 - Buffer.byteLength(name));
    await serves(full);
    const s = new Socket(AF_UNIX, SOCK_STREAM);
    const t = new Socket(AF_UNIX, SOCK_STREAM);
    try {
      s.bind(full);
      assert.throws(() => t.bind(`${full}b`), tooLong);
    } finally {
      s.close();
      t.close();
    }
    await assert.rejects(openUnixConnection(`${full}b`), tooLong);
  });

  test('connecting where no socket is raises FileNotFoundError', async () => {
    const path = join(dir, 'nobody.sock');
    await assert.rejects(openUnixConnection(path), notFound);
    const s = new Socket(AF_UNIX, SOCK_STREAM);
    try {
      await assert.rejects(s.connect(path), notFound);
    } finally {
      s.close();
    }
  });

  test('listening in a directory that does not exist raises FileNotFoundError', async () => {
    const path = join(dir, 'no-such-dir', 'x.sock');
    await assert.rejects(
      startUnixServer(async () => {}, path),
      notFound,
    );
    const s = new Socket(AF_UNIX, SOCK_STREAM);
    try {
      s.bind(path);
      await assert.rejects(s.listen(), notFound);
    } finally {
      s.close();
    }
  });
});
