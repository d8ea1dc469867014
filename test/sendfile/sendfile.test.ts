import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { type Socket as NetSocket, createServer as netCreateServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sleep } from '../../src/asyncio/index.js';
import { _forceCopyLoop, sendfile } from '../../src/sendfile/sendfile.js';
import {
  BrokenPipeError,
  ConnectionError,
  createConnection,
  type Socket,
} from '../../src/socket/index.js';
import { openConnection } from '../../src/streams/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

const HOST = '127.0.0.1';
let dir = '';
let path = '';
let content: Buffer;
let bigPath = '';
let big: Buffer;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'weft-sendfile-'));
  path = join(dir, 'data.bin');
  content = Buffer.alloc(3 * 1024 * 1024 + 123);
  let x = 12345;
  for (let i = 0; i < content.length; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    content[i] = x >>> 16;
  }
  writeFileSync(path, content);
  // Larger than loopback's socket buffers, so a reader that waits makes the sender wait.
  bigPath = join(dir, 'big.bin');
  big = Buffer.alloc(48 * 1024 * 1024);
  for (let i = 0; i < big.length; i += content.length) content.copy(big, i);
  writeFileSync(bigPath, big);
});

after(() => {
  _forceCopyLoop(false);
  rmSync(dir, { recursive: true, force: true });
});

/** A sink on loopback: collects everything one connection sends until EOF. */
async function sink(opts: { slow?: boolean; reset?: number } = {}): Promise<{
  port: number;
  received: Promise<Buffer>;
  close: () => Promise<void>;
}> {
  let resolve!: (b: Buffer) => void;
  const received = new Promise<Buffer>((r) => (resolve = r));
  const server = netCreateServer((s: NetSocket) => {
    const parts: Buffer[] = [];
    let total = 0;
    s.on('error', () => resolve(Buffer.concat(parts)));
    if (opts.slow) {
      // Read nothing for a while so the sender's socket buffer fills (partial sends, EAGAIN).
      s.pause();
      setTimeout(() => s.resume(), 300);
    }
    s.on('data', (d: Buffer) => {
      parts.push(d);
      total += d.length;
      if (opts.reset !== undefined && total >= opts.reset) s.resetAndDestroy();
    });
    s.on('end', () => {
      resolve(Buffer.concat(parts));
      s.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, HOST, r));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    received,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

for (const backend of ['kernel', 'copy'] as const) {
  describe(`sendfile (${backend})`, () => {
    before(() => _forceCopyLoop(backend === 'copy'));

    test('sends the whole file byte-exact and returns its size', async () => {
      const s = await sink();
      const sock = await createConnection([HOST, s.port]);
      assert.equal(await sendfile(sock, path), content.length);
      sock.close();
      assert.ok((await s.received).equals(content));
      await s.close();
    });

    test('offset and count select an exact slice, including odd boundaries', async () => {
      const cases: [number, number][] = [
        [0, 1],
        [1, 4095],
        [4097, 70_001],
        [content.length - 10, 10],
        [1_000_003, 1_500_000],
      ];
      for (const [offset, count] of cases) {
        const s = await sink();
        const sock = await createConnection([HOST, s.port]);
        assert.equal(await sendfile(sock, path, { offset, count }), count);
        sock.close();
        assert.ok(
          (await s.received).equals(content.subarray(offset, offset + count)),
          `${offset}+${count}`,
        );
        await s.close();
      }
    });

    test('a slow reader forces partial sends; the bytes still arrive exact and the loop keeps running', async () => {
      const s = await sink({ slow: true });
      const sock = await createConnection([HOST, s.port]);
      let ticks = 0;
      const iv = setInterval(() => ticks++, 5);
      try {
        assert.equal(await sendfile(sock, bigPath, { offset: 7 }), big.length - 7);
      } finally {
        clearInterval(iv);
      }
      assert.ok(ticks > 0, 'timers ran while the transfer waited for the reader');
      sock.close();
      assert.ok((await s.received).equals(big.subarray(7)));
      await s.close();
    });

    test('a file shorter than count sends what there is', async () => {
      const s = await sink();
      const sock = await createConnection([HOST, s.port]);
      assert.equal(
        await sendfile(sock, path, { offset: content.length - 100, count: 1_000_000 }),
        100,
      );
      assert.equal(await sendfile(sock, path, { offset: content.length + 5 }), 0);
      sock.close();
      assert.ok((await s.received).equals(content.subarray(content.length - 100)));
      await s.close();
    });

    test('writes before and during the transfer do not interleave with the file', async () => {
      const s = await sink({ slow: true });
      const [, writer] = await openConnection(HOST, s.port);
      writer.write('HEAD');
      const n = 20_000_000;
      const p = sendfile(writer, bigPath, { count: n });
      writer.write('TAIL');
      await sleep(5);
      writer.write('TAIL');
      assert.equal(await p, n);
      writer.close();
      const got = await s.received;
      assert.equal(got.length, 12 + n);
      assert.equal(got.subarray(0, 4).toString(), 'HEAD');
      assert.ok(got.subarray(4, 4 + n).equals(big.subarray(0, n)));
      assert.equal(got.subarray(got.length - 8).toString(), 'TAILTAIL');
      await writer.waitClosed();
      await s.close();
    });

    test('two transfers on one socket are serialized', async () => {
      const s = await sink();
      const sock = await createConnection([HOST, s.port]);
      const [a, b] = await Promise.all([
        sendfile(sock, path, { offset: 0, count: 500_000 }),
        sendfile(sock, path, { offset: 500_000, count: 500_000 }),
      ]);
      assert.equal(a + b, 1_000_000);
      sock.close();
      assert.ok((await s.received).equals(content.subarray(0, 1_000_000)));
      await s.close();
    });

    test('a peer that resets mid-transfer fails it with a ConnectionError', async () => {
      const s = await sink({ reset: 200_000 });
      const sock: Socket = await createConnection([HOST, s.port]);
      await assert.rejects(sendfile(sock, bigPath), (e: unknown) => {
        assert.ok(e instanceof ConnectionError, String(e));
        return true;
      });
      sock.close();
      await s.close();
    });

    test('an aborted signal stops the transfer with its reason', async () => {
      const s = await sink({ slow: true });
      const sock = await createConnection([HOST, s.port]);
      const ac = new AbortController();
      const p = sendfile(sock, bigPath, { signal: ac.signal });
      setTimeout(() => ac.abort(new Error('stop now')), 20);
      await assert.rejects(p, /stop now/);
      sock.close();
      await s.received;
      await s.close();
    });

    test('a descriptor and a FileHandle work as the file', async () => {
      const s = await sink();
      const sock = await createConnection([HOST, s.port]);
      const fh = await open(path, 'r');
      try {
        assert.equal(await sendfile(sock, fh, { offset: 10, count: 20 }), 20);
        assert.equal(await sendfile(sock, fh.fd, { offset: 30, count: 20 }), 20);
      } finally {
        await fh.close();
      }
      sock.close();
      assert.ok((await s.received).equals(content.subarray(10, 50)));
      await s.close();
    });
  });
}

describe('sendfile arguments', () => {
  test('a closed socket raises BrokenPipeError; bad arguments raise typed errors', async () => {
    const s = await sink();
    const sock = await createConnection([HOST, s.port]);
    await assert.rejects(sendfile(sock, path, { offset: -1 }), RangeError);
    await assert.rejects(sendfile(sock, path, { count: 1.5 }), RangeError);
    await assert.rejects(sendfile(sock, {} as never), TypeError);
    await assert.rejects(sendfile('nope' as never, path), TypeError);
    sock.close();
    await assert.rejects(sendfile(sock, path), BrokenPipeError);
    await s.received;
    await s.close();
  });

  test('sendfile.native says whether the kernel path is in use', () => {
    assert.equal(typeof sendfile.native, 'boolean');
    const built = existsSync(
      new URL('../../native/build/Release/weft_sendfile.node', import.meta.url),
    );
    if (process.platform === 'linux' && process.env.WEFT_NO_NATIVE !== '1') {
      assert.equal(sendfile.native, built);
    }
  });
});
