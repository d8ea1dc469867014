/**
 * A broker client whose process exits in the turn the client was made in: its socket is
 * connected in the kernel but libuv has not said so yet, and the process has no later turn.
 * What it queued must still reach the broker (src/internal/process/broker-client.ts,
 * `#writeAtExit`). Node 22 starts a child's target in that very turn; here a plain `node`
 * process plays that child on any Node, deterministically.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ENV_BROKER, ensureBroker } from '../../../src/internal/process/broker-client.js';
import { Queue } from '../../../src/multiprocessing/index.js';
import { checkLeaks } from '../../support/leaks.js';
import { TS_IMPORT } from '../../support/ts.js';

checkLeaks();

const brokerClientUrl = new URL('../../../src/internal/process/broker-client.ts', import.meta.url);
const serializeUrl = new URL('../../../src/internal/serialize.ts', import.meta.url);

/** Runs `body` (an ES module, after the imports) in a fresh `node` with this test's broker. */
function runChild(
  body: string,
  brokerPath: string = ensureBroker(),
): Promise<{ code: number | null; stderr: string }> {
  const source = `
    import { broker } from ${JSON.stringify(brokerClientUrl.href)};
    import { encode } from ${JSON.stringify(serializeUrl.href)};
    ${body}`;
  const child = spawn(
    process.execPath,
    ['--import', TS_IMPORT, '--input-type=module', '-e', source],
    { env: { ...process.env, [ENV_BROKER]: brokerPath }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    stderr += d;
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stderr }));
  });
}

/** A queue whose broker is up and listening (the child's connect(2) then succeeds at once). */
async function readyQueue(): Promise<Queue<number>> {
  const q = new Queue<number>();
  await q.put(-1);
  assert.equal(await q.get({ timeout: 10_000 }), -1);
  return q;
}

/**
 * Child code (after the imports of `runChild`): a round trip with the broker (connected), a
 * 6 MiB put (filled with 1) whose flush runs before the next line — the kernel takes far less
 * than 6 MiB at once, Node holds the rest — then a second one (filled with 2) queued in the turn
 * of whatever comes next: the exit, in the tests below.
 */
function twoLargePuts(queueId: string): string {
  return `
      const b = broker();
      await b.drain();
      b.postPut(${JSON.stringify(queueId)}, encode(new Uint8Array(6 << 20).fill(1), 'message'));
      await new Promise((resolve) => setImmediate(resolve));
      b.postPut(${JSON.stringify(queueId)}, encode(new Uint8Array(6 << 20).fill(2), 'message'));`;
}

test('puts made in the turn a process exits in, before its client connected, all arrive', async () => {
  const q = await readyQueue();
  try {
    // connect(2) is done, libuv's 'connect' would come on a later turn: the frame goes to the
    // descriptor directly.
    const { code, stderr } = await runChild(`
      const b = broker();
      for (let i = 0; i < 3; i++) b.postPut(${JSON.stringify(q._id)}, encode(i, 'message'));
      process.exit(0);`);
    assert.equal(code, 0, stderr);
    assert.doesNotMatch(stderr, /did not reach the broker/);
    const got: number[] = [];
    for (let i = 0; i < 3; i++) got.push(await q.get({ timeout: 10_000 }));
    assert.deepEqual(got, [0, 1, 2]);
    assert.equal(q.empty(), true);
  } finally {
    q.close();
  }
});

test('when the exiting process cannot write its socket yet, a helper process sends what it queued', async () => {
  const q = await readyQueue();
  try {
    // The descriptor answers ENOTCONN, as before libuv called connect(2): the frame goes through
    // the short-lived helper instead (fs.writeSync is replaced in the child, and the named
    // export that broker-client.ts imported is synced to it).
    const { code, stderr } = await runChild(`
      import fs from 'node:fs';
      import { syncBuiltinESMExports } from 'node:module';
      const real = fs.writeSync;
      let refused = 0;
      fs.writeSync = (fd, ...rest) => {
        if (fd > 2) {
          refused++;
          throw Object.assign(new Error('not connected'), { code: 'ENOTCONN' });
        }
        return real(fd, ...rest);
      };
      syncBuiltinESMExports();
      const b = broker();
      for (let i = 0; i < 3; i++) b.postPut(${JSON.stringify(q._id)}, encode(i, 'message'));
      process.on('exit', () => { if (refused === 0) real(2, 'the descriptor was never tried\\n'); });
      process.exit(0);`);
    assert.equal(code, 0, stderr);
    assert.equal(stderr, '');
    const got: number[] = [];
    for (let i = 0; i < 3; i++) got.push(await q.get({ timeout: 10_000 }));
    assert.deepEqual(got, [0, 1, 2]);
  } finally {
    q.close();
  }
});

test('what cannot reach the broker at exit is reported on stderr, not dropped silently', async () => {
  const { code, stderr } = await runChild(`
    import fs from 'node:fs';
    import { syncBuiltinESMExports } from 'node:module';
    fs.writeSync = (fd, ...rest) => {
      throw Object.assign(new Error('broken'), { code: 'EPIPE' });
    };
    syncBuiltinESMExports();
    broker().postPut('no-such-queue', encode(1, 'message'));
    process.exit(0);`);
  assert.equal(code, 0);
  assert.match(
    stderr,
    /weft: 1 multiprocessing message\(s\) queued at exit did not reach the broker \(EPIPE\)/,
  );
});

test('messages of a process whose broker connection failed are reported at exit', async () => {
  // A socket path under a file: the connection fails at once with ENOTDIR, for good (no retry
  // as for a broker still starting), before the process exits with a put still queued.
  const { code, stderr } = await runChild(
    `
    broker().postPut('no-such-queue', encode(1, 'message'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    process.exit(0);`,
    '/etc/passwd/broker.sock',
  );
  assert.equal(code, 0);
  assert.match(
    stderr,
    /weft: 1 multiprocessing message\(s\) queued at exit did not reach the broker \(.*ENOTDIR/,
  );
});

test('a put larger than the socket buffer, made just before exit on a connected client, arrives whole', async () => {
  const q = await readyQueue();
  try {
    // The first 6 MiB item is written while the process goes on (the kernel takes part, Node
    // holds the rest); the second is queued in the turn of the exit. Both must arrive, in order.
    const { code, stderr } = await runChild(`
      ${twoLargePuts(q._id)}
      process.exit(0);`);
    assert.equal(code, 0, stderr);
    assert.equal(stderr, '');
    for (const fill of [1, 2]) {
      const item = (await q.get({ timeout: 10_000 })) as unknown as Uint8Array;
      assert.equal(item.length, 6 << 20);
      assert.equal(item[0], fill);
      assert.equal(item[item.length - 1], fill);
    }
  } finally {
    q.close();
  }
});

test('a write that fails at exit reports the messages of an earlier frame it cut short too', async () => {
  const q = await readyQueue();
  try {
    // The first 6 MiB item is partly with Node when the process exits; the exit's write fails
    // at once, so both items are lost: the report counts the earlier frame's message as well as
    // the one queued in the turn of the exit.
    const { code, stderr } = await runChild(`
      import fs from 'node:fs';
      import { syncBuiltinESMExports } from 'node:module';
      ${twoLargePuts(q._id)}
      const real = fs.writeSync;
      fs.writeSync = (fd, ...rest) => {
        if (fd > 2) throw Object.assign(new Error('broken'), { code: 'EPIPE' });
        return real(fd, ...rest);
      };
      syncBuiltinESMExports();
      process.exit(0);`);
    assert.equal(code, 0);
    assert.match(
      stderr,
      /weft: 2 multiprocessing message\(s\) queued at exit did not reach the broker \(EPIPE\)/,
    );
  } finally {
    q.close();
  }
});

test('a write that fails part-way at exit reports only the messages not wholly written', async () => {
  const q = await readyQueue();
  try {
    // The exit's write takes everything but the last 6 MiB (inside the second item's frame),
    // then fails: the first item arrives whole, the second is reported.
    const { code, stderr } = await runChild(`
      import fs from 'node:fs';
      import { syncBuiltinESMExports } from 'node:module';
      ${twoLargePuts(q._id)}
      const real = fs.writeSync;
      let allowed = null;
      fs.writeSync = (fd, buf, off, ...rest) => {
        if (fd <= 2) return real(fd, buf, off, ...rest);
        if (allowed === null) allowed = buf.length - off - (6 << 20);
        if (allowed <= 0) throw Object.assign(new Error('broken'), { code: 'EPIPE' });
        const n = real(fd, buf, off, Math.min(allowed, buf.length - off));
        allowed -= n;
        return n;
      };
      syncBuiltinESMExports();
      process.exit(0);`);
    assert.equal(code, 0);
    assert.match(
      stderr,
      /weft: 1 multiprocessing message\(s\) queued at exit did not reach the broker \(EPIPE\)/,
    );
    const item = (await q.get({ timeout: 10_000 })) as unknown as Uint8Array;
    assert.equal(item.length, 6 << 20);
    assert.equal(item[0], 1);
    assert.equal(item[item.length - 1], 1);
    await assert.rejects(q.get({ timeout: 300 }), { name: 'Empty' });
  } finally {
    q.close();
  }
});

test('a frame the socket still held when the broker connection closed is reported at exit', async () => {
  // A stand-in broker that closes the connection once it has read 64 KiB, a part of the
  // client's 6 MiB frame: the rest is in Node's socket, and is lost with the connection.
  const dir = mkdtempSync(join(tmpdir(), 'weft-broker-'));
  const path = join(dir, 'broker.sock');
  const server = createServer((s) => {
    let got = 0;
    s.on('data', (d) => {
      got += d.length;
      if (got >= 64 << 10) s.destroy();
    });
    s.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  try {
    const { code, stderr } = await runChild(
      `
      const b = broker();
      await new Promise((resolve) => setTimeout(resolve, 100));
      b.postPut('no-such-queue', encode(new Uint8Array(6 << 20).fill(1), 'message'));
      await new Promise((resolve) => setTimeout(resolve, 500));
      process.exit(0);`,
      path,
    );
    assert.equal(code, 0, stderr);
    assert.match(
      stderr,
      /weft: 1 multiprocessing message\(s\) queued at exit did not reach the broker \(The (connection to the multiprocessing broker at .* broke|multiprocessing broker closed the connection)/,
    );
  } finally {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  }
});

test('once the broker closes the connection, every call fails with why: waits reject, posts throw', async () => {
  // A stand-in broker that ends each connection once the client's first bytes arrive (its
  // hello), as a child sees it when the root process, and so the broker, is gone. It ends rather
  // than destroys, and reads on: unread bytes at close would make it a reset, whose message
  // differs ("broke: read ECONNRESET").
  const dir = mkdtempSync(join(tmpdir(), 'weft-broker-'));
  const path = join(dir, 'broker.sock');
  const server = createServer((s) => {
    s.on('data', () => s.end());
    s.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  try {
    const { code, stderr } = await runChild(
      `
      const b = broker();
      const why = (p) => p.then(() => 'answered', (e) => e.message);
      const kind = (e) => e.constructor.name + ' ' + e.code + ' ' + e.errno;
      const waiting = await why(b.request('get', 'no-such-queue', []));
      const waitingKind = await b.request('qsize', 'no-such-queue', []).then(() => 'answered', kind);
      let posted = 'no throw';
      let postedKind = '';
      try {
        b.postPut('no-such-queue', encode(1, 'message'));
      } catch (e) {
        posted = e.message;
        postedKind = kind(e);
      }
      const later = await why(b.request('qsize', 'no-such-queue', []));
      process.stderr.write(JSON.stringify({ waiting, posted, later, waitingKind, postedKind }));`,
      path,
    );
    assert.equal(code, 0, stderr);
    const seen = JSON.parse(stderr) as Record<string, string>;
    const closed = 'The multiprocessing broker closed the connection (its process ended)';
    // Python's class for a peer gone (its Connection raises BrokenPipeError), errno EPIPE.
    const broken = 'BrokenPipeError ERR_WEFT_BROKEN_PIPE 32';
    assert.deepEqual(seen, {
      waiting: closed,
      posted: closed,
      later: closed,
      waitingKind: broken,
      postedKind: broken,
    });
  } finally {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  }
});
