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
import v8 from 'node:v8';
import { Worker } from 'node:worker_threads';
import { FrameReader, frame } from '../../src/internal/process/broker-wire.js';
import { DirectSyncSocket, directIo } from '../../src/internal/process/sync-direct.js';
import { requestNumber } from '../../src/internal/v8-format.js';
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
 * `path` once `go` is set, then `script` runs for each frame of messages (`ms`, with `sock`,
 * `frameOf(messages)`, `reply(messages)` and `deep`, an array nested deeper than the test's thread
 * can read), and every message read goes to the test on the worker's port.
 */
function fakeBroker(path: string, script: string): { w: Worker; go: () => void } {
  const sab = new SharedArrayBuffer(4);
  const w = new Worker(
    `const { workerData: d, parentPort } = require('node:worker_threads');
     const net = require('node:net'), v8 = require('node:v8');
     const flag = new Int32Array(d.sab);
     Atomics.wait(flag, 0, 0);
     const frameOf = (ms) => { const b = v8.serialize(ms); const h = Buffer.alloc(4); h.writeUInt32LE(b.length); return Buffer.concat([h, b]); };
     let deep = 0;
     for (let i = 0; i < 20000; i++) deep = [deep];
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
    // A stack deep enough to write `deep` (the test's thread has Node's default).
    { eval: true, workerData: { sab, path }, resourceLimits: { stackSizeMb: 32 } },
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

interface FakeBrokerRun {
  /** This thread's blocking connection to the fake broker. */
  s: DirectSyncSocket;
  /** The fake broker's thread: each frame's messages come as a 'message'. */
  w: Worker;
  path: string;
  /** Lets the fake broker listen. */
  go: () => void;
}

/**
 * `fn` with a fake broker running `script` (see fakeBroker) at a path of its own and a blocking
 * connection to it, which are closed after, whatever `fn` did.
 */
async function withFakeBroker(
  script: string,
  fn: (run: FakeBrokerRun) => void | Promise<void>,
): Promise<void> {
  const path = sockPath();
  const { w, go } = fakeBroker(path, script);
  let s: DirectSyncSocket | undefined;
  try {
    s = direct(path);
    await fn({ s, w, path, go });
  } finally {
    s?.close();
    await stop(w);
  }
}

test('the first blocking call waits for a broker not listening yet, and says hello first', {
  skip: noDirect,
}, async () => {
  await withFakeBroker(
    `for (const m of ms) if (m.r > 0) reply([{ r: m.r, v: 'pong ' + m.r }]);`,
    async ({ s, w, path, go }) => {
      const seen: unknown[] = [];
      w.on('message', (ms: unknown[]) => seen.push(...ms));
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
    },
  );
});

test('a broker that closes the connection while the thread is parked: that call and every later one fail at once', {
  skip: noDirect,
}, async () => {
  await withFakeBroker(
    `for (const m of ms) if (m.r > 0) setTimeout(() => sock.destroy(), 200);`,
    async ({ s, w, go }) => {
      let conns = 0;
      w.on('message', (ms: Array<{ o: string }>) => {
        if (ms[0]?.o === 'hello') conns++;
      });
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
    },
  );
});

test("a broker's unreadable notice fails the call with its reason, and the later ones", {
  skip: noDirect,
}, async () => {
  await withFakeBroker(
    `for (const m of ms) if (m.r > 0) { reply([{ r: 0, unreadable: 'too deep: pass flatter data' }]); sock.end(); }`,
    ({ s, go }) => {
      go();
      assert.deepEqual(s.call({ r: 1, o: 'ping-never-fails', a: [] }), {
        r: 1,
        fail: 'too deep: pass flatter data',
      });
      assert.deepEqual(s.call({ r: 2, o: 'ping-never-fails', a: [] }), {
        r: 2,
        fail: 'too deep: pass flatter data',
      });
    },
  );
});

const unreadableReply = {
  name: 'RuntimeError',
  code: 'ERR_WEFT_UNREADABLE_MESSAGE',
  message:
    /^A blocking multiprocessing call failed: the broker's reply could not be read in this thread \(RangeError: Maximum call stack size exceeded\)/,
};

test('a reply this thread cannot read fails its call alone; one of another request is passed over, and the call gets its own', {
  skip: noDirect,
}, async () => {
  // Request 1: first an unreadable reply numbered 7 (no call of this thread's), its own reply
  // later, read apart. Request 2: its reply unreadable. Then request 3, answered.
  await withFakeBroker(
    `for (const m of ms) {
       if (m.r === 1) { reply([{ r: 7, v: deep }]); setTimeout(() => reply([{ r: 1, v: 'pong 1' }]), 200); }
       else if (m.r === 2) reply([{ r: 2, v: deep }]);
       else if (m.r > 0) reply([{ r: m.r, v: 'pong ' + m.r }]);
     }`,
    ({ s, go }) => {
      go();
      assert.deepEqual(s.call({ r: 1, o: 'ping-never-fails', a: [] }), { r: 1, v: 'pong 1' });
      assert.throws(() => s.call({ r: 2, o: 'ping-never-fails', a: [] }), unreadableReply);
      assert.deepEqual(s.call({ r: 3, o: 'ping-never-fails', a: [] }), { r: 3, v: 'pong 3' });
      assert.equal(s.failed, null);
    },
  );
});

test('a frame whose request number cannot be read fails the call it came to (it may have been its reply); the next call gets its own reply', {
  skip: noDirect,
}, async () => {
  await withFakeBroker(
    `for (const m of ms) {
       if (m.r === 1) { sock.write(Buffer.from([3, 0, 0, 0, 1, 2, 3])); setTimeout(() => reply([{ r: 1, v: 'pong 1' }]), 200); }
       else if (m.r > 0) reply([{ r: m.r, v: 'pong ' + m.r }]);
     }`,
    ({ s, go }) => {
      go();
      assert.throws(() => s.call({ r: 1, o: 'ping-never-fails', a: [] }), {
        name: 'RuntimeError',
        code: 'ERR_WEFT_UNREADABLE_MESSAGE',
      });
      // Request 1's reply, when it comes, is its own: passed over.
      assert.deepEqual(s.call({ r: 2, o: 'ping-never-fails', a: [] }), { r: 2, v: 'pong 2' });
      assert.equal(s.failed, null);
    },
  );
});

test("an unreadable frame of several replies, another request's first, fails the call: its reply may be in it", {
  skip: noDirect,
}, async () => {
  // The broker batches what it answers a connection in one turn: a reply to an earlier request
  // (one whose call gave up) and this call's can share a frame. Passed over by the first
  // number, the call waited for a reply already gone (the close 2 s later ends that wait).
  await withFakeBroker(
    `for (const m of ms) {
       if (m.r === 2) { reply([{ r: 1, v: deep }, { r: 2, v: 'pong 2' }]); setTimeout(() => sock.destroy(), 2000); }
       else if (m.r > 0) reply([{ r: m.r, v: 'pong ' + m.r }]);
     }`,
    ({ s, go }) => {
      go();
      assert.throws(() => s.call({ r: 2, o: 'ping-never-fails', a: [] }), unreadableReply);
      assert.deepEqual(s.call({ r: 3, o: 'ping-never-fails', a: [] }), { r: 3, v: 'pong 3' });
    },
  );
});

test('a frame of what are not replies is passed over: the call gets its own reply, and the next call its own', {
  skip: noDirect,
}, async () => {
  // Thrown while the frames were walked, the walk's position stayed before that frame, and
  // every later call threw the same TypeError.
  await withFakeBroker(
    `for (const m of ms) {
       if (m.r === 1) { reply([null, 5]); reply(7); setTimeout(() => reply([{ r: 1, v: 'pong 1' }]), 200); }
       else if (m.r > 0) reply([{ r: m.r, v: 'pong ' + m.r }]);
     }`,
    ({ s, go }) => {
      go();
      assert.deepEqual(s.call({ r: 1, o: 'ping-never-fails', a: [] }), { r: 1, v: 'pong 1' });
      assert.deepEqual(s.call({ r: 2, o: 'ping-never-fails', a: [] }), { r: 2, v: 'pong 2' });
    },
  );
});

test("requestNumber reads a reply's number from the front of its frame, as V8 writes it", () => {
  let deep: unknown = 0;
  for (let i = 0; i < 100; i++) deep = [deep];
  // A holey array of one (V8 writes it sparse), and one of two.
  // biome-ignore lint/suspicious/noSparseArray: the hole makes V8 write the array sparse
  const holey: unknown[] = [,];
  holey[0] = { r: 4, v: 1 };
  const holey2: unknown[] = [];
  holey2[0] = { r: 4, v: 1 };
  holey2.length = 2;
  const cases: Array<[Uint8Array, number | null]> = [
    [v8.serialize([{ r: 7, v: deep }]), 7],
    [v8.serialize([{ r: -3, e: 'x' }]), -3],
    [v8.serialize([{ r: 300_000, c: 1 }]), 300_000],
    [v8.serialize([{ r: 2 ** 31 + 5, v: 1 }]), 2 ** 31 + 5],
    [v8.serialize(holey), 4],
    // Several replies: this call's could be after the first.
    [v8.serialize(holey2), null],
    [
      v8.serialize([
        { r: 7, v: 1 },
        { r: 1, v: 1 },
      ]),
      null,
    ],
    // v8-format.ts's writer (small frames).
    [frame([{ r: 9, v: 'small' }]).subarray(4), 9],
    [v8.serialize([{ v: 1, r: 2 }]), null],
    [v8.serialize({ r: 1 }), null],
    [Buffer.from([1, 2, 3]), null],
    [Buffer.from([0xff]), null],
    [v8.serialize([{ r: 5 }]).subarray(0, 9), null],
  ];
  for (const [body, want] of cases) assert.equal(requestNumber(body), want);
});

test('a reply larger than the read buffer arrives whole', { skip: noDirect }, async () => {
  await withFakeBroker(
    `for (const m of ms) if (m.r > 0) { const f = frameOf([{ r: m.r, v: 'x'.repeat(300000) }]); sock.write(f.subarray(0, 5)); setTimeout(() => sock.write(f.subarray(5)), 50); }`,
    ({ s, go }) => {
      go();
      const got = s.call({ r: 1, o: 'ping-never-fails', a: [] }) as { r: number; v: string };
      assert.equal(got.r, 1);
      assert.equal(got.v, 'x'.repeat(300000));
    },
  );
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
