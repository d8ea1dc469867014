/**
 * A thread's blocking broker calls on its own socket (src/internal/process/sync-direct.ts), and
 * the sync client thread it falls back to: the first call made while the broker is not listening
 * yet, a broker gone while the thread is parked in its read, a thread that ends or is
 * terminated while parked (its socket closes with it), and which way a process takes.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { FrameReader, frame } from '../../src/internal/process/broker-wire.js';
import { DirectSyncSocket, directIo } from '../../src/internal/process/sync-direct.js';
import { firstLine, tsFixture } from '../support/child-lines.js';
import { checkLeaks } from '../support/leaks.js';
import { TS_IMPORT } from '../support/ts.js';

checkLeaks({ graceMs: 3000 });

const dir = mkdtempSync(join(tmpdir(), 'weft-sd-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let serial = 0;
const sockPath = (): string => join(dir, `s${serial++}.sock`);

const noDirect =
  directIo(join(dir, 'x')) === null
    ? 'no direct sync socket (no addon, an older build, WEFT_NO_NATIVE=1 or WEFT_SYNC_CLIENT=thread)'
    : false;

/**
 * A fake broker on a thread of its own (the test's thread parks in the call): it listens at
 * `path` once `go` is set, then `script` runs for each frame of messages (`ms`, with `sock` and
 * `reply(messages)`), and every message read goes to the test on the worker's port.
 */
function fakeBroker(path: string, script: string): { w: Worker; go: () => void } {
  const sab = new SharedArrayBuffer(4);
  const w = new Worker(
    `const { workerData: d, parentPort } = require('node:worker_threads');
     const net = require('node:net'), v8 = require('node:v8');
     const flag = new Int32Array(d.sab);
     Atomics.wait(flag, 0, 0);
     const frameOf = (ms) => { const b = v8.serialize(ms); const h = Buffer.alloc(4); h.writeUInt32LE(b.length); return Buffer.concat([h, b]); };
     const socks = new Set();
     const srv = net.createServer((sock) => {
       socks.add(sock);
       const reply = (ms) => sock.write(frameOf(ms));
       let buf = Buffer.alloc(0);
       sock.on('data', (c) => {
         buf = Buffer.concat([buf, c]);
         while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32LE(0)) {
           const n = buf.readUInt32LE(0);
           const ms = v8.deserialize(buf.subarray(4, 4 + n));
           buf = buf.subarray(4 + n);
           parentPort.postMessage(ms);
           ${script}
         }
       });
       sock.on('error', () => {});
     });
     setTimeout(() => srv.listen(d.path), 100);
     parentPort.on('message', () => { for (const s of socks) s.destroy(); srv.close(() => parentPort.close()); });`,
    { eval: true, workerData: { sab, path } },
  );
  const flag = new Int32Array(sab);
  return {
    w,
    go: () => {
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
    },
  };
}

async function stop(w: Worker): Promise<void> {
  w.postMessage('stop');
  await new Promise((r) => w.once('exit', r));
}

const HELLO: unknown[] = [process.pid, 'test', 'test:1', 's', 0];

/** A blocking connection of this thread to the (fake) broker at `path`. */
function direct(path: string): DirectSyncSocket {
  const b = directIo(path);
  if (b === null) throw new Error('no direct sync socket here');
  return new DirectSyncSocket(b, path, HELLO, 60_000);
}

test('the first blocking call waits for a broker not listening yet, and says hello first', {
  skip: noDirect,
}, async () => {
  const path = sockPath();
  const seen: unknown[] = [];
  const { w, go } = fakeBroker(
    path,
    `for (const m of ms) if (m.r > 0) reply([{ r: m.r, v: 'pong ' + m.r }]);`,
  );
  w.on('message', (ms: unknown[]) => seen.push(...ms));
  let s: DirectSyncSocket | undefined;
  try {
    s = direct(path);
    assert.equal(existsSync(path), false, 'nothing listens yet');
    go();
    assert.deepEqual(s.call({ r: 1, o: 'ping-never-fails', a: [] }), { r: 1, v: 'pong 1' });
    assert.deepEqual(s.call({ r: 2, o: 'ping-never-fails', a: [] }), { r: 2, v: 'pong 2' });
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(
      seen.map((m) => (m as { o: string; r: number }).o + (m as { r: number }).r),
      ['hello-1', 'ping-never-fails1', 'ping-never-fails2'],
    );
    assert.deepEqual((seen[0] as { a: unknown[] }).a, HELLO);
  } finally {
    s?.close();
    await stop(w);
  }
});

test('a broker that closes the connection while the thread is parked: that call and every later one fail at once', {
  skip: noDirect,
}, async () => {
  const path = sockPath();
  let conns = 0;
  const { w, go } = fakeBroker(
    path,
    `for (const m of ms) if (m.r > 0) setTimeout(() => sock.destroy(), 200);`,
  );
  w.on('message', (ms: Array<{ o: string }>) => {
    if (ms[0]?.o === 'hello') conns++;
  });
  let s: DirectSyncSocket | undefined;
  try {
    s = direct(path);
    go();
    const closed = /^The multiprocessing broker closed the connection \(its process ended\)$/;
    const first = s.call({ r: 1, o: 'ping-never-fails', a: [] }) as { r: number; fail: string };
    assert.equal(first.r, 1);
    assert.match(first.fail, closed);
    const second = s.call({ r: 2, o: 'ping-never-fails', a: [] }) as { r: number; fail: string };
    assert.deepEqual(second, { r: 2, fail: first.fail });
    assert.match(s.failed ?? '', closed);
    await new Promise((r) => setImmediate(r));
    assert.equal(conns, 1, 'no new connection after the failure');
  } finally {
    s?.close();
    await stop(w);
  }
});

test("a broker's unreadable notice fails the call with its reason, and the later ones", {
  skip: noDirect,
}, async () => {
  const path = sockPath();
  const { w, go } = fakeBroker(
    path,
    `for (const m of ms) if (m.r > 0) { reply([{ r: 0, unreadable: 'too deep: pass flatter data' }]); sock.end(); }`,
  );
  let s: DirectSyncSocket | undefined;
  try {
    s = direct(path);
    go();
    assert.deepEqual(s.call({ r: 1, o: 'ping-never-fails', a: [] }), {
      r: 1,
      fail: 'too deep: pass flatter data',
    });
    assert.deepEqual(s.call({ r: 2, o: 'ping-never-fails', a: [] }), {
      r: 2,
      fail: 'too deep: pass flatter data',
    });
  } finally {
    s?.close();
    await stop(w);
  }
});

test('a reply larger than the read buffer arrives whole', { skip: noDirect }, async () => {
  const path = sockPath();
  const { w, go } = fakeBroker(
    path,
    `for (const m of ms) if (m.r > 0) { const f = frameOf([{ r: m.r, v: 'x'.repeat(300000) }]); sock.write(f.subarray(0, 5)); setTimeout(() => sock.write(f.subarray(5)), 50); }`,
  );
  let s: DirectSyncSocket | undefined;
  try {
    s = direct(path);
    go();
    const got = s.call({ r: 1, o: 'ping-never-fails', a: [] }) as { r: number; v: string };
    assert.equal(got.r, 1);
    assert.equal(got.v, 'x'.repeat(300000));
  } finally {
    s?.close();
    await stop(w);
  }
});

/** A fake broker on this thread that answers request 1 of each connection and no other. */
function answerFirst(path: string): Promise<{
  closed: Promise<void>;
  close: () => Promise<void>;
}> {
  let onClose!: () => void;
  const closed = new Promise<void>((r) => {
    onClose = r;
  });
  const srv = createServer((sock: Socket) => {
    const reader = new FrameReader(
      (ms) => {
        for (const m of ms as Array<{ r: number }>)
          if (m.r === 1) sock.write(frame([{ r: 1, v: 'one' }]));
      },
      () => sock.destroy(),
    );
    sock.on('data', (d) => reader.push(d));
    sock.on('error', () => {});
    sock.on('close', onClose);
  });
  return new Promise((resolve) => {
    srv.listen(path, () =>
      resolve({ closed, close: () => new Promise((r) => srv.close(() => r())) }),
    );
  });
}

test("a thread that ends closes its blocking socket (the broker sees the session's end)", {
  skip: noDirect,
}, async () => {
  const path = sockPath();
  const fake = await answerFirst(path);
  try {
    const w = new Worker(new URL('./fixtures/sync-direct-worker.ts', import.meta.url), {
      workerData: { path, park: false },
    });
    const answered = new Promise((r) => w.once('message', r));
    const code = await new Promise((r) => w.once('exit', r));
    assert.equal(code, 0);
    assert.deepEqual(await answered, { r: 1, v: 'one' });
    await fake.closed;
  } finally {
    await fake.close();
  }
});

test('a thread terminated while parked in a blocking call ends, and its socket closes', {
  skip: noDirect,
}, async () => {
  const path = sockPath();
  const fake = await answerFirst(path);
  try {
    const w = new Worker(new URL('./fixtures/sync-direct-worker.ts', import.meta.url), {
      workerData: { path, park: true },
    });
    assert.deepEqual(await new Promise((r) => w.once('message', r)), { r: 1, v: 'one' });
    // Parked (or about to park) in the call the fake broker never answers.
    await w.terminate();
    await fake.closed;
  } finally {
    await fake.close();
  }
});

function run(fixture: string, env: Record<string, string>): ChildProcess {
  return spawn(
    process.execPath,
    ['--import', TS_IMPORT, fileURLToPath(new URL(`./fixtures/${fixture}`, import.meta.url))],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } },
  );
}

async function output(child: ChildProcess): Promise<string> {
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const code = await new Promise((r) => child.once('exit', r));
  assert.equal(code, 0, out);
  return out;
}

test('blocking calls go on the thread’s own socket where the addon has it', {
  skip: noDirect,
}, async () => {
  assert.equal(await output(run('sync-way.ts', {})), 'direct 1 7\n');
});

test('without the addon, or with WEFT_SYNC_CLIENT=thread, they go through a sync client thread', async () => {
  assert.equal(await output(run('sync-way.ts', { WEFT_SYNC_CLIENT: 'thread' })), 'thread 1 7\n');
  assert.equal(await output(run('sync-way.ts', { WEFT_NO_NATIVE: '1' })), 'thread 1 7\n');
});

test('a broker killed while a blocking get waits: the get fails with a clear error, no hang', async () => {
  const path = sockPath();
  const broker = tsFixture(new URL('./fixtures/raw-broker-host.ts', import.meta.url), path);
  try {
    assert.equal(await firstLine(broker), 'listening');
    const client = run('sync-direct-client.ts', { WEFT_BROKER: path });
    let out = '';
    client.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out === 'waiting\n') broker.kill('SIGKILL');
    });
    const code = await new Promise((r) => client.once('exit', r));
    assert.equal(code, 0);
    // The get was read by the broker before it died (the thread parked in its read), or its
    // write found the broker gone: either way the same error, once.
    assert.match(
      out,
      /^waiting\nWeftError ERR_WEFT_BROKER_UNREACHABLE The multiprocessing broker (closed the connection \(its process ended\)|at \S+ is unreachable: .+)\n$/,
    );
  } finally {
    broker.kill('SIGKILL');
    if (broker.exitCode === null && broker.signalCode === null)
      await new Promise((r) => broker.once('exit', r));
  }
});
