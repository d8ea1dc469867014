/**
 * What a newcomer meets first: the examples that README.md, docs/cli.md and `--help` give, and
 * the errors of options typed a little wrong. Spawned as a user runs it (node bin/weft.js …).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { CliContext } from '../../src/cli/command.js';
import { listLessonFiles, selectLessons } from '../../src/cli/lesson-catalog.js';
import { EpollSelector } from '../../src/selectors/index.js';
import { checkLeaks } from '../support/leaks.js';
import { weftRunner } from '../support/weft-cli.js';

checkLeaks();

const root = new URL('../../', import.meta.url).pathname;

/** `weft …` as a user runs it; every command here ends within 30 s. */
const weft = weftRunner(30_000);

describe('the examples the docs give', () => {
  test('every `weft run` example of --help, README.md and docs/cli.md names one lesson', async () => {
    // Regression: all three said `weft run deadlock`, which became an error listing two lessons
    // when lesson 72 (deadlock with processes) joined lesson 25.
    const help = (await weft('run', '--help')).stdout;
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const cliDoc = readFileSync(join(root, 'docs', 'cli.md'), 'utf8');
    const examples = [
      ...[...help.matchAll(/part of its name \(([^)]+)\)/g)].map((m) => ['--help', m[1]!]),
      ...[...readme.matchAll(/part of its name such as `([^`]+)`/g)].map((m) => ['README', m[1]!]),
      ...[...cliDoc.matchAll(/^npx weft run (\S+)/gm)].map((m) => ['docs/cli.md', m[1]!]),
    ];
    assert.ok(examples.filter(([where]) => where === '--help').length === 1, help);
    assert.ok(examples.filter(([where]) => where === 'README').length === 1, 'README example');
    assert.ok(examples.filter(([where]) => where === 'docs/cli.md').length >= 2, 'cli.md examples');
    const context: CliContext = { root, typescript: true, out: () => {}, err: () => {} };
    const files = listLessonFiles(context);
    for (const [where, name] of examples) {
      assert.equal(selectLessons(files, [name!]).length, 1, `${where}: weft run ${name}`);
    }
  });
});

describe('options typed a little wrong', () => {
  test('serve refuses a port or worker count that is not decimal digits, and an empty host', async () => {
    // Regression: Number() took '' as port 0 (a random port for `--port "$PORT"` with PORT
    // unset), 0x10 as 16 and ' 0' as 0; an empty --host listened on every interface.
    const cases: [string[], string][] = [
      [['--port', ''], '--port must be 0-65535: received ""'],
      [['--port', '0x10'], '--port must be 0-65535: received 0x10'],
      [['--port', ' 0'], '--port must be 0-65535: received " 0"'],
      [['--port', '1e3'], '--port must be 0-65535: received 1e3'],
      [['--port', '0', '--workers', ''], '--workers must be an integer 1-1024: received ""'],
      [
        ['--port', '0', '--host', ''],
        '--host is empty: give an address (127.0.0.1 when --host is left out)',
      ],
    ];
    for (const [args, message] of cases) {
      const r = await weft('serve', 'echo', ...args);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}`);
      assert.equal(r.stderr, `weft: weft serve: ${message}\n`, args.join(' '));
      assert.equal(r.stdout, '', args.join(' '));
    }
  });

  test('serve says which model --workers needs', async () => {
    const workers = await weft(
      'serve',
      'echo',
      '--port',
      '0',
      '--workers',
      '2',
      '--model',
      'epoll',
    );
    assert.equal(workers.code, 1);
    assert.equal(
      workers.stderr,
      'weft: weft serve: --workers 2 needs --model streams, the one model that serves from ' +
        'several processes: received --model epoll\n',
    );
  });

  // Without the addon serve says that first (the next test), whatever the host: another model
  // takes a host name.
  test('serve says that epoll takes an IP address', {
    skip: !EpollSelector.native && 'the weft_io addon is not built here (or WEFT_NO_NATIVE=1)',
  }, async () => {
    // Regression: the epoll model's RawSocket failed on a host name with "address family not
    // supported", which did not say what to change.
    const epoll = await weft(
      'serve',
      'echo',
      '--port',
      '0',
      '--model',
      'epoll',
      '--host',
      'localhost',
    );
    assert.equal(epoll.code, 1);
    assert.equal(
      epoll.stderr,
      'weft: weft serve: --model epoll listens on an IP address, not a host name: received ' +
        '--host localhost (try 127.0.0.1 or ::1)\n',
    );
  });

  test('serve --model epoll without the weft_io addon says so, with no stack', async () => {
    // Regression: EpollSelector's OSError ended the command with a stack trace.
    const r = await weftRunner(30_000, { WEFT_NO_NATIVE: '1' })(
      'serve',
      'echo',
      '--model',
      'epoll',
      '--port',
      '0',
    );
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      'weft: weft serve: --model epoll needs the weft_io addon, which this install does not ' +
        'have (it is built by `npm ci` on Linux with a C compiler; WEFT_NO_NATIVE=1 turns it ' +
        'off): pick another --model\n',
    );
  });

  test('load refuses what is not decimal digits and an empty host, before connecting', async () => {
    const cases: [string[], string][] = [
      [['--conns', '1e2'], '--conns must be an integer 1-60000: received 1e2'],
      [['--port', '0x22b8'], '--port must be an integer 1-65535: received 0x22b8'],
      [['--size', ''], '--size must be an integer 1-16777216: received ""'],
      [['--host', ''], '--host is empty: give an address (127.0.0.1 when --host is left out)'],
    ];
    for (const [args, message] of cases) {
      const r = await weft('load', 'echo', '--seconds', '1', ...args);
      assert.equal(r.code, 1, args.join(' '));
      assert.equal(r.stderr, `weft: weft load: ${message}\n`, args.join(' '));
    }
  });

  test('load names the command and the cause when it cannot connect', async () => {
    // A port nobody listens on: one taken from the kernel, then given back.
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    await new Promise((r) => srv.close(r));
    const refused = await weft('load', 'echo', '--port', String(port), '--seconds', '1');
    assert.equal(refused.code, 1);
    assert.equal(
      refused.stderr,
      `weft: weft load: cannot connect to 127.0.0.1:${port}: connection refused (nothing ` +
        'listens there: start a server with `weft serve echo --port N`)\n',
    );
    // .invalid never resolves (RFC 2606). Regression: each of 64 connections looked it up, and
    // the error said only ENOTFOUND.
    const unknown = await weft('load', 'echo', '--host', 'no-such-host.invalid', '--seconds', '1');
    assert.equal(unknown.code, 1);
    assert.match(
      unknown.stderr,
      /^weft: weft load: cannot connect to no-such-host\.invalid:8888: (no such host|the host name could not be resolved)\n$/,
    );
  });
});

describe('output into a pipe the reader has closed', () => {
  test('the command ends quietly, as `weft lessons | head -1` expects', async () => {
    // Regression: the next write raised EPIPE as an unhandled 'error' event: a stack trace on
    // stderr and exit code 1.
    for (const args of [['lessons'], ['run', '01']]) {
      const child = spawn(process.execPath, [join(root, 'bin', 'weft.js'), ...args], {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      // The reader goes away before the command has written anything (it first loads tsx and
      // the lessons), so its first write meets a pipe with no reader.
      child.stdout.destroy();
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      const code = await new Promise<number | null>((r) => child.once('close', (c) => r(c)));
      assert.equal(stderr, '', args.join(' '));
      assert.equal(code, 0, args.join(' '));
    }
  });
});
