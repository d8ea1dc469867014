/**
 * The `weft` command, spawned as a user runs it (node bin/weft.js …), plus the tour's
 * keep-going behaviour on a scratch examples/ directory. The tour as a user starts it, with tsx,
 * is tour-tsx.test.ts.
 */
import assert from 'node:assert/strict';
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket as NetSocket, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { type CliContext, CliError } from '../../src/cli/command.js';
import { runEchoLoad } from '../../src/cli/load.js';
import { tour } from '../../src/cli/tour.js';
import { createConnection } from '../../src/socket/index.js';
import { checkLeaks } from '../support/leaks.js';
import { weftRunner } from '../support/weft-cli.js';

checkLeaks();

const root = new URL('../../', import.meta.url).pathname;

/** `weft …` as a user runs it; every command here ends within 90 s. */
const weft = weftRunner(90_000);

/**
 * `weft serve echo --port 0 …args` started as a user starts it (`nodeFlags` first), its output
 * gathered as it comes, where it listens, and how it ended.
 */
function startServe(
  nodeFlags: string[],
  args: string[],
): {
  server: ChildProcessByStdio<null, Readable, Readable>;
  /** The port of its `listening on 127.0.0.1:…` line; rejects if it ends before printing it. */
  listening: Promise<number>;
  readonly out: string;
  readonly err: string;
  exit: Promise<[number | null, NodeJS.Signals | null]>;
} {
  const server = spawn(
    process.execPath,
    [...nodeFlags, join(root, 'bin', 'weft.js'), 'serve', 'echo', '--port', '0', ...args],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  server.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  server.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exit = new Promise<[number | null, NodeJS.Signals | null]>((r) =>
    server.once('exit', (c, sig) => r([c, sig])),
  );
  const listening = new Promise<number>((resolve, reject) => {
    server.stdout.on('data', () => {
      const m = /listening on 127\.0\.0\.1:(\d+) /.exec(out);
      if (m) resolve(Number(m[1]));
    });
    server.once('exit', () => reject(new Error(`weft serve exited early: ${out}${err}`)));
  });
  // Not every caller waits for the line (one signalled at once ends it by design).
  listening.catch(() => {});
  return {
    server,
    listening,
    get out() {
      return out;
    },
    get err() {
      return err;
    },
    exit,
  };
}

/** What a lazily-run promise gives, made once, by the first test that asks. */
function once<T>(make: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= make());
}

/** `weft lessons`: two tests check the list, each its own lines of it. */
const lessonList = once(() => weft('lessons'));

describe('weft CLI', () => {
  test('--help lists every command', async () => {
    const r = await weft('--help');
    assert.equal(r.code, 0);
    for (const c of ['tour', 'lessons', 'run', 'bench'])
      assert.match(r.stdout, new RegExp(`\\b${c}\\b`));
  });

  test('lessons lists the lessons with number, module and title, in order', async () => {
    const r = await lessonList();
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^01\s+generators\s+Two generator functions/m);
    assert.match(r.stdout, /^10\s+gevent\s+Three greenlets/m);
    assert.ok(r.stdout.indexOf('\n04') < r.stdout.indexOf('\n10'));
  });

  test('tour with a filter runs only that lesson, with its heading and what it shows', async () => {
    const r = await weft('tour', '04');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /weft tour — 1 lesson \(quick/);
    assert.match(r.stdout, /━━ 04 · asCompleted\(\) yields results in completion order/);
    assert.match(r.stdout, /Three downloads start/);
    assert.match(r.stdout, /Completion order: fast, medium, slow/);
    assert.match(r.stdout, /1 of 1 lessons ran/);
    assert.doesNotMatch(r.stdout, /━━ 01/);
  });

  test('tour with a name filter picks the lesson by part of its file name', async () => {
    const r = await weft('tour', 'gevent');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /━━ 10 ·/);
    assert.match(r.stdout, /sum of sleeps 7 s/);
  });

  test('an unknown lesson is a clear error with a non-zero exit', async () => {
    const r = await weft('run', 'no-such-lesson');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /no lesson matches "no-such-lesson"/);
    assert.match(r.stderr, /01-generators-round-robin/);
    const t = await weft('tour', '99');
    assert.notEqual(t.code, 0);
    assert.match(t.stderr, /no lesson matches "99"/);
  });

  test('lessons keeps the title clear of a long module name', async () => {
    // Regression: the module column was 16 wide, so lesson 69 read
    // "concurrent.futuresThreadPoolExecutor and …".
    const r = await lessonList();
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^69\s+concurrent\.futures\s+ThreadPoolExecutor/m);
  });

  test('run with a part of a name shared by several lessons names them and runs none', async () => {
    // Regression: `weft run gevent` (the example of its own --help) ran lessons 10 to 13.
    const r = await weft('run', 'gevent', '--quick');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /"gevent" matches 4 lessons/);
    for (const id of ['10-gevent-sleep', '11-gevent-pool', '12-gevent-timeout', '13-gevent-queue'])
      assert.match(r.stderr, new RegExp(`^  ${id}$`, 'm'));
    assert.doesNotMatch(r.stdout, /━━/);
  });

  test('run runs one lesson at full size', async () => {
    const r = await weft('run', '01');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Two countdowns from 5/);
    assert.match(r.stdout, /✔ 01-generators-round-robin/);
  });

  test('serve echo --model process: a child per connection answers; SIGTERM ends all of it', async () => {
    const run = startServe([], ['--model', 'process']);
    try {
      const port = await run.listening;
      assert.match(run.out, /\(model process/);
      const clients = ['first', 'second'].map(async (word) => {
        using c = await createConnection(['127.0.0.1', port]);
        const replies: string[] = [];
        for (const msg of [`${word} hello`, `${word} again`]) {
          await c.sendall(msg);
          let got = '';
          while (got.length < msg.length) got += (await c.recv(1024)).toString();
          replies.push(got);
        }
        return replies.join(' / ');
      });
      assert.deepEqual(await Promise.all(clients), [
        'FIRST HELLO / FIRST AGAIN',
        'SECOND HELLO / SECOND AGAIN',
      ]);
    } finally {
      run.server.kill('SIGTERM');
    }
    assert.equal((await run.exit)[0], 0, run.err);
  });

  test('serve on a busy port or an address not on this machine: a clear error, no stack', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as { port: number }).port;
    try {
      // One weft transport, Node's net, and the --workers group (each worker fails to listen).
      for (const extra of [[], ['--model', 'node'], ['--workers', '2']]) {
        const r = await weft('serve', 'echo', '--port', String(port), ...extra);
        assert.equal(r.code, 1, `${extra.join(' ')}: ${r.stderr}`);
        assert.equal(
          r.stderr,
          `weft: weft serve: cannot listen on 127.0.0.1:${port}: the port is already in use ` +
            '(another server? pick another --port, or 0 for a free one)\n',
          extra.join(' '),
        );
      }
    } finally {
      busy.close();
    }
    // 192.0.2.1 is TEST-NET-1 (RFC 5737): never an address of this machine.
    const r = await weft(
      'serve',
      'echo',
      '--port',
      '0',
      '--host',
      '192.0.2.1',
      '--model',
      'sockets',
    );
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      'weft: weft serve: cannot listen on 192.0.2.1:0: this machine has no such address\n',
    );
  });

  test('serve --workers 2 says where it listens once, not once per process', async () => {
    // Regression: node:cluster re-runs the command in each worker, and each printed the line.
    const run = startServe([], ['--workers', '2']);
    try {
      const port = await run.listening;
      assert.match(run.out, /\(model streams/);
      using c = await createConnection(['127.0.0.1', port]);
      await c.sendall('two workers');
      let got = '';
      while (got.length < 11) got += (await c.recv(1024)).toString();
      assert.equal(got, 'TWO WORKERS');
    } finally {
      run.server.kill('SIGTERM');
    }
    const [code] = await run.exit;
    assert.equal(code, 0);
    const { out, err } = run;
    // Every process has ended, so everything any of them printed is in `out` and `err`.
    assert.equal(out.match(/listening on/g)?.length, 1, out);
    // Regression: each worker, disconnected by the closing primary, still waited for a signal
    // and ended with exit code 13 and a warning of an unsettled top-level await (Node 22, 24;
    // Node 20 gives no warning: the test below sees its exit code).
    assert.equal(err, '');
  });

  test('serve: a SIGTERM sent as soon as the listening line is out stops it cleanly', async () => {
    // Regression: serve printed the line, then began to listen for SIGINT/SIGTERM; a signal in
    // between ended the process by the default action (exit code null), as the test above did
    // once in a loaded run under Node 22 (the gap reached 180 ms). The fixture signals at once,
    // and with --workers says on stderr how a worker ended if not with exit code 0 (Node 20 ended
    // each with 13, silently, when only the signal ended its wait, not its group's disconnect).
    const fixture = join(root, 'test', 'cli', 'fixtures', 'sigterm-on-listening.mjs');
    for (const extra of [[], ['--workers', '2']]) {
      const run = startServe(['--import', fixture], extra);
      const [code, signal] = await run.exit;
      const { out, err } = run;
      const what = `${extra.join(' ')}: ${out}${err}`;
      assert.deepEqual([code, signal], [0, null], what);
      assert.equal(out.match(/listening on/g)?.length, 1, what);
      assert.equal(err, '', what);
    }
  });

  test('bench with a filter that names no suite is a clear error', async () => {
    const r = await weft('bench', '--quick', 'no-such-suite');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /no benchmark suite matches "no-such-suite"/);
  });

  test('an unknown command is a usage error with a non-zero exit', async () => {
    const r = await weft('frobnicate');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /unknown command/);
  });
});

describe('weft load', () => {
  async function server(onConnection: (s: NetSocket) => void): Promise<[Server, number]> {
    const open = new Set<NetSocket>();
    const srv = createServer((s) => {
      open.add(s);
      s.on('close', () => open.delete(s));
      onConnection(s);
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const close = srv.close.bind(srv);
    srv.close = (cb?: (err?: Error) => void) => {
      for (const s of open) s.destroy();
      return close(cb);
    };
    return [srv, (srv.address() as { port: number }).port];
  }

  test('a server that accepts but never answers is reported, not waited for for ever', async () => {
    // Regression: the warm-up waited for the first answer of every connection without limit.
    const [srv, port] = await server(() => {});
    try {
      await assert.rejects(
        runEchoLoad({ host: '127.0.0.1', port, conns: 3, seconds: 1, size: 8, stallMs: 300 }),
        (e: unknown) =>
          e instanceof CliError &&
          e.message ===
            `127.0.0.1:${port} accepts connections but gave none its first answer in 0.3 s (not an echo server?)`,
      );
    } finally {
      await new Promise((r) => srv.close(r));
    }
  });

  test('a server that hangs up before answering is reported at once', async () => {
    const [srv, port] = await server((s) => s.end());
    try {
      await assert.rejects(
        runEchoLoad({ host: '127.0.0.1', port, conns: 100, seconds: 1, size: 8 }),
        (e: unknown) =>
          e instanceof CliError &&
          e.message ===
            `127.0.0.1:${port} closed a connection before answering (not an echo server?)`,
      );
    } finally {
      await new Promise((r) => srv.close(r));
    }
  });
});

describe('weft tour', () => {
  test('a failing lesson is reported, the tour goes on, and the result says it failed', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'weft-tour-'));
    try {
      mkdirSync(join(scratch, 'examples'));
      const lesson = (n: string, body: string) =>
        writeFileSync(
          join(scratch, 'examples', `${n}.ts`),
          `export default { title: 'lesson ${n}', shows: 'what ${n} shows', module: 'test',
             async main({ log }: { log: (...p: unknown[]) => void }) { ${body} } };\n`,
        );
      lesson('01-first', "log('first ran');");
      lesson('02-broken', "log('about to fail'); throw new Error('lesson 02 broke');");
      lesson('03-last', "log('last ran');");
      const out: string[] = [];
      const err: string[] = [];
      const context: CliContext = {
        root: scratch,
        typescript: true,
        out: (t) => out.push(t),
        err: (t) => err.push(t),
      };
      assert.equal(await tour([], false, context), false);
      const stdout = out.join('');
      assert.ok(stdout.indexOf('first ran') < stdout.indexOf('last ran'));
      assert.match(err.join(''), /02-broken failed: Error: lesson 02 broke/);
      assert.match(stdout, /2 of 3 lessons ran .*; failed: 02-broken/);
      assert.equal(await tour(['1', '3'], false, context), true);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  test('without TypeScript support the tour says that it needs tsx', async () => {
    const context: CliContext = {
      root,
      typescript: false,
      out: () => {},
      err: () => {},
    };
    await assert.rejects(tour([], false, context), /needs tsx/);
  });
});
