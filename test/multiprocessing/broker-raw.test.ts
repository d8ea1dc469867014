/**
 * The broker's sockets on weft_io's raw sockets (src/internal/process/broker-wire.ts, RawSocket
 * and RawServer): what net.Socket gave the broker and its clients must hold on them too — frames
 * larger than the socket buffer in both directions (partial writes queued, sent on EPOLLOUT),
 * many messages in one turn in order, a peer killed mid-frame or mid-request (the other end
 * sees the close: waiters fail, what the dead one held is freed). Without the addon
 * (WEFT_NO_NATIVE=1) the tests through the broker run over net.Socket and must pass the same.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  FrameReader,
  frame,
  RawServer,
  RawSocket,
  rawBrokerSockets,
} from '../../src/internal/process/broker-wire.js';
import { Event, Lock, Manager, Process } from '../../src/multiprocessing/index.js';
import { io } from '../../src/socket/native-io.js';
import { Thread } from '../../src/threading/index.js';
import { exited, firstLine, tsFixture } from '../support/child-lines.js';
import { checkLeaks } from '../support/leaks.js';
import { TS_IMPORT } from '../support/ts.js';
import { holdAndWait, takeAndEnd } from './fixtures/raw-peer-targets.js';

checkLeaks({ graceMs: 3000 });

const dir = mkdtempSync(join(tmpdir(), 'weft-raw-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let serial = 0;
const sockPath = (): string => join(dir, `s${serial++}.sock`);

const noRaw = rawBrokerSockets ? false : 'raw sockets unavailable (no addon, or WEFT_NO_NATIVE=1)';

/** A fixture of ./fixtures run under the TypeScript loader with a socket path of its own. */
function fixture(name: string): ChildProcess {
  return tsFixture(new URL(`./fixtures/${name}`, import.meta.url), sockPath());
}

/** A raw server at a fresh path and one raw client connected to it: both ends' sockets. */
async function rawPair(): Promise<{ server: RawServer; client: RawSocket; peer: RawSocket }> {
  const path = sockPath();
  let onPeer: (s: RawSocket) => void = () => {};
  const peerP = new Promise<RawSocket>((r) => {
    onPeer = r;
  });
  const server = RawServer.listen(path, (s) => onPeer(s)) as RawServer;
  const client = RawSocket.connect(path) as RawSocket;
  await new Promise<void>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  return { server, client, peer: await peerP };
}

function closed(s: RawSocket): Promise<void> {
  return s.destroyed ? Promise.resolve() : new Promise((r) => s.once('close', () => r()));
}

test('the broker runs on raw sockets exactly when the addon has Unix sockets', () => {
  const expected =
    io !== null && typeof io.connectUnix === 'function' && process.env.WEFT_BROKER_NET !== '1';
  assert.equal(rawBrokerSockets, expected);
});

test('a frame larger than the socket buffer crosses in both directions', {
  skip: noRaw,
}, async () => {
  const { server, client, peer } = await rawPair();
  try {
    const payload = new Uint8Array(8 << 20);
    for (let i = 0; i < payload.length; i += 4096) payload[i] = (i >> 12) & 0xff;
    const peerBacklog: number[] = [];
    // The peer echoes each frame it reads.
    const peerReader = new FrameReader(
      (ms) => {
        peer.write(frame(ms));
        peerBacklog.push(peer.writableLength);
      },
      (e) => assert.fail(String(e)),
    );
    peer.onBytes = (d) => peerReader.push(d);
    const back = new Promise<unknown[]>((resolve) => {
      const r = new FrameReader(resolve, (e) => assert.fail(String(e)));
      client.onBytes = (d) => r.push(d);
    });
    let clientDone = false;
    client.write(frame([{ r: 1, v: payload }]), (err) => {
      assert.equal(err, undefined);
      clientDone = true;
    });
    // The kernel took part of it: the rest waits for EPOLLOUT, counted as unsent.
    assert.ok(client.writableLength > 0, 'the client write should have been partial');
    assert.equal(clientDone, false);
    const [m] = (await back) as Array<{ r: number; v: Uint8Array }>;
    assert.equal(clientDone, true);
    assert.equal(client.writableLength, 0);
    assert.ok((peerBacklog[0] as number) > 0, 'the echo should have been a partial write too');
    assert.equal(peer.writableLength, 0);
    assert.equal(m?.r, 1);
    assert.deepEqual(m?.v, payload);
  } finally {
    client.destroy();
    peer.destroy();
    server.close();
  }
});

test('many frames written in one turn arrive all, in order, and are answered in order', {
  skip: noRaw,
}, async () => {
  const { server, client, peer } = await rawPair();
  try {
    const N = 5000;
    const peerReader = new FrameReader(
      (ms) => {
        for (const m of ms) peer.write(frame([m]));
      },
      (e) => assert.fail(String(e)),
    );
    peer.onBytes = (d) => peerReader.push(d);
    const got: number[] = [];
    const all = new Promise<void>((resolve) => {
      const r = new FrameReader(
        (ms) => {
          for (const m of ms) got.push((m as { r: number }).r);
          if (got.length === N) resolve();
        },
        (e) => assert.fail(String(e)),
      );
      client.onBytes = (d) => r.push(d);
    });
    let written = 0;
    for (let i = 0; i < N; i++)
      client.write(frame([{ r: i, v: 'x'.repeat(200) }]), () => {
        written++;
      });
    await all;
    assert.equal(written, N);
    assert.deepEqual(
      got,
      Array.from({ length: N }, (_, i) => i),
    );
  } finally {
    client.destroy();
    peer.destroy();
    server.close();
  }
});

test('a peer killed in the middle of a frame: the other end closes, nothing is read', {
  skip: noRaw,
}, async () => {
  const path = sockPath();
  const got: unknown[] = [];
  let accepted: RawSocket | null = null;
  const acceptedP = new Promise<RawSocket>((resolve) => {
    const server = RawServer.listen(path, (s) => {
      accepted = s;
      const r = new FrameReader(
        (ms) => got.push(...ms),
        (e) => assert.fail(String(e)),
      );
      s.onBytes = (d) => r.push(d);
      resolve(s);
    }) as RawServer;
    after(() => server.close());
  });
  // A plain node process: a header announcing 1000 bytes, 10 of them, then it waits.
  const child = spawn(
    process.execPath,
    [
      '-e',
      `const s = require('node:net').connect(${JSON.stringify(path)}, () => {
         const b = Buffer.alloc(14); b.writeUInt32LE(1000, 0);
         s.write(b, () => process.stdout.write('ready\\n'));
       });`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  assert.equal(await firstLine(child), 'ready');
  const s = await acceptedP;
  child.kill('SIGKILL');
  await exited(child);
  await closed(s);
  assert.equal(accepted, s);
  assert.equal(s.destroyed, true);
  assert.deepEqual(got, []);
});

test('a write to a peer that is gone fails in its callback on a later tick, not in write()', {
  skip: noRaw,
}, async () => {
  const { server, client, peer } = await rawPair();
  try {
    peer.destroy();
    await closed(client);
    const order: string[] = [];
    const err = new Promise<Error | null | undefined>((resolve) => {
      client.write(Buffer.from('late'), (e) => {
        order.push('callback');
        resolve(e);
      });
      order.push('returned');
    });
    const e = await err;
    assert.deepEqual(order, ['returned', 'callback']);
    assert.ok(e instanceof Error);
  } finally {
    client.destroy();
    server.close();
  }
});

test('a write after destroySoon() is refused, and what was queued before it still goes out', {
  skip: noRaw,
}, async () => {
  const { server, client, peer } = await rawPair();
  try {
    let received = 0;
    peer.onBytes = (d) => {
      received += d.length;
    };
    const big = Buffer.alloc(8 << 20, 1);
    let bigDone: Error | null | undefined = null;
    client.write(big, (e) => {
      bigDone = e;
    });
    assert.ok(client.writableLength > 0, 'the big write should have been partial');
    client.destroySoon();
    // Before, it was queued behind the big one and sent (net.Socket refuses a write after end()).
    const refused = new Promise<Error | null | undefined>((resolve) => {
      assert.equal(client.write(Buffer.from('late'), resolve), false);
    });
    const e = (await refused) as NodeJS.ErrnoException;
    assert.equal(e?.code, 'ERR_STREAM_WRITE_AFTER_END');
    await closed(peer);
    assert.equal(bigDone, undefined, 'the queued write completed');
    assert.equal(received, big.length, 'the peer got the queued bytes and nothing after them');
    assert.equal(client.destroyed, true);
  } finally {
    client.destroy();
    peer.destroy();
    server.close();
  }
});

test('a handler that throws does not cost the other sockets of its poll batch their bytes', {
  skip: noRaw,
}, async () => {
  // The bytes read ahead for the batch sit in one buffer until the next poll: the throw ended
  // the batch, and the other socket's bytes, read from the kernel already, never came.
  const child = fixture('raw-throwing-handler.ts');
  const line = await firstLine(child);
  assert.equal(await exited(child), 0);
  const r = JSON.parse(line) as { batches: number[]; ran: unknown[]; errors: string[] };
  assert.deepEqual(r.batches, [2], 'both sockets had bytes in one batch');
  assert.equal(r.ran.length, 2, `both handlers ran: ${line}`);
  assert.equal(r.ran[0], true);
  assert.ok(r.ran[1] === 'one' || r.ran[1] === 'two', line);
  assert.deepEqual(r.errors, ['handler failed'], 'the throw is still reported');
});

test("a thread ending right after a raw socket's close begins leaves no descriptor open", {
  skip: noRaw,
}, async () => {
  // Taking the descriptor out of the epoll set and closing it were two native calls: a thread
  // stopped between them (a Worker.terminate()) left it open for the life of the process, no
  // longer closed at the thread's end. The fixture stops its worker right after the first call.
  const child = fixture('raw-terminate-close.ts');
  const line = await firstLine(child);
  await exited(child);
  assert.equal(line, 'closed');
});

test('a broker killed while a get waits: the waiting get fails with BrokenPipeError', async () => {
  const path = sockPath();
  const host = tsFixture(new URL('./fixtures/raw-broker-host.ts', import.meta.url), path);
  try {
    assert.equal(await firstLine(host), 'listening');
    const client = spawn(
      process.execPath,
      [
        '--import',
        TS_IMPORT,
        fileURLToPath(new URL('./fixtures/raw-broker-client.ts', import.meta.url)),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, WEFT_BROKER: path } },
    );
    let out = '';
    client.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const clientExit = exited(client);
    while (!out.includes('waiting\n')) {
      await new Promise<void>((resolve, reject) => {
        client.stdout?.once('data', () => resolve());
        client.once('exit', () => reject(new Error(`client exited early: ${out}`)));
      });
    }
    host.kill('SIGKILL');
    assert.equal(await clientExit, 0);
    assert.equal(out, 'waiting\nBrokenPipeError\n');
  } finally {
    host.kill('SIGKILL');
    await exited(host);
  }
});

test('a process killed while its request is in flight: the broker frees the lock it held', async () => {
  const lock = new Lock();
  const held = new Event();
  const never = new Event();
  const p = new Process({ target: holdAndWait, args: [lock, held, never] });
  p.start();
  await held.wait();
  assert.equal(await lock.acquire({ timeout: 0 }), false);
  p.kill();
  await p.join();
  assert.equal(await lock.acquire({ timeout: 60 }), true);
  lock.release();
});

test('a thread that ends holding a Lock: its socket closes with it and the broker frees the lock', async () => {
  // The raw sockets of a thread are closed by the addon when the thread ends (Node closes its
  // own that way): without that, the broker never heard of the end and the lock stayed held.
  const lock = new Lock();
  const t = new Thread({ target: takeAndEnd, args: [lock] });
  t.start();
  await t.join();
  assert.equal(await lock.acquire({ timeout: 60 }), true);
  lock.release();
});

test('a Manager value larger than the socket buffer goes to the broker and back whole', async () => {
  using m = Manager();
  const d = m.dict<string, Uint8Array>();
  const big = new Uint8Array(6 << 20);
  for (let i = 0; i < big.length; i += 1000) big[i] = (i / 1000) & 0xff;
  await d.set('big', big);
  await d.set('small', new Uint8Array([7]));
  const [a, b] = await Promise.all([d.get('big'), d.get('small')]);
  assert.deepEqual(a, big);
  assert.deepEqual(b, new Uint8Array([7]));
});

test('a broker path longer than a sockaddr_un holds (a long TMPDIR) works as over net', async () => {
  // listenUnix and connectUnix refuse such a path (ENAMETOOLONG); net's libuv cuts it to fit on
  // both ends, which is what every client did before the raw transport.
  const long = join(dir, 'd'.repeat(100));
  mkdirSync(long);
  const child = spawn(
    process.execPath,
    ['--import', TS_IMPORT, fileURLToPath(new URL('./fixtures/raw-long-path.ts', import.meta.url))],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, TMPDIR: long } },
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  assert.equal(await exited(child), 0);
  assert.equal(out, 'got 1\n');
});

test('a connect refused with EAGAIN (the listener backlog is full) is retried until accepted', {
  skip: noRaw,
}, async () => {
  const b = io as NonNullable<typeof io>;
  const path = sockPath();
  const lfd = b.listenUnix?.(path, 1) as number;
  assert.ok(lfd >= 0);
  const pending: number[] = [];
  try {
    let r = 0;
    for (let i = 0; i < 1000 && r >= 0; i++) {
      r = b.connectUnix?.(path) as number;
      if (r >= 0) pending.push(r);
    }
    assert.equal(r, -11, 'the backlog should have filled (EAGAIN)');
    const s = RawSocket.connect(path) as RawSocket;
    const outcome = new Promise<string>((resolve) => {
      s.once('connect', () => resolve('connect'));
      s.once('error', (e: NodeJS.ErrnoException) => resolve(`error ${e.code}`));
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(s.fd, -1, 'still waiting for room in the backlog');
    for (let c = b.accept(lfd); c >= 0; c = b.accept(lfd)) pending.push(c);
    assert.equal(await outcome, 'connect');
    s.destroy();
  } finally {
    for (const fd of pending) b.close(fd);
    b.close(lfd);
  }
});

test('a listener out of descriptors (EMFILE) does not spin, and accepts once one is free', {
  skip: noRaw,
}, async () => {
  // The connection waits in the backlog, which level-triggered epoll reports on every turn:
  // accepting again at once made the broker's thread spin at full CPU.
  const child = spawn(
    'sh',
    [
      '-c',
      'ulimit -n 256 && exec "$0" "$@"',
      process.execPath,
      '--import',
      TS_IMPORT,
      fileURLToPath(new URL('./fixtures/raw-emfile.ts', import.meta.url)),
      sockPath(),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const line = await firstLine(child);
  await exited(child);
  const m = /^calls (\d+) accepted (\d+)$/.exec(line);
  assert.ok(m, line);
  assert.ok(Number(m[1]) < 100, `${m[1]} accept calls in a second`);
  assert.equal(m[2], '1');
});
