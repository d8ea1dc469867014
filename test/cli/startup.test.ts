/**
 * What `weft` loads to start: the modules of the command that runs and no others (`weft
 * --help` or a mistyped option did wait for every command's modules, serve's weft IO stack
 * among them), and `weft lessons` lists the lessons from their files' text instead of importing
 * all of them (lesson-catalog.ts's readLessonHeading), which must say what their import says.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Command } from 'commander';
import type { CliContext } from '../../src/cli/command.js';
import { listLessonFiles, loadLesson, readLessonHeading } from '../../src/cli/lesson-catalog.js';
import { lessonsCommand } from '../../src/cli/lessons.js';
import { checkLeaks } from '../support/leaks.js';
import { weftRunner } from '../support/weft-cli.js';

checkLeaks();

const root = new URL('../../', import.meta.url).pathname;
const run = promisify(execFile);
const weft = weftRunner(30_000);

/**
 * `weft …args` under the suite's TypeScript loader with fixtures/module-trace.mjs: its exit
 * code, stderr, and the files of the checkout it resolved (paths relative to the root).
 */
async function traced(
  ...args: string[]
): Promise<{ code: number; stderr: string; loaded: string[] }> {
  return tracedWith({ closedStdout: false }, ...args);
}

/**
 * traced(), and with `closedStdout` the reader of its output gone before it writes (its stdout
 * a pipe whose other end is closed: its first write fails with EPIPE).
 */
async function tracedWith(
  { closedStdout }: { closedStdout: boolean },
  ...args: string[]
): Promise<{ code: number; stderr: string; loaded: string[] }> {
  const loader = process.env.WEFT_TS_LOADER;
  assert.ok(loader, 'the suite runs under a TypeScript loader that WEFT_TS_LOADER names');
  const dir = mkdtempSync(join(tmpdir(), 'weft-trace-'));
  const trace = join(dir, 'trace');
  writeFileSync(trace, '');
  try {
    const argv = [
      '--import',
      loader,
      '--import',
      new URL('fixtures/module-trace.mjs', import.meta.url).href,
      join(root, 'bin', 'weft.js'),
      ...args,
    ];
    // The sources themselves, not the suite's JavaScript mirror of them (scripts/ts-loader/mirror.mjs),
    // whose paths the trace would not name as src/ or examples/.
    const env = {
      ...process.env,
      WEFT_TS_LOADER: loader,
      WEFT_TS_MIRROR: '',
      WEFT_MODULE_TRACE: trace,
    };
    let code = 0;
    let stderr = '';
    try {
      if (closedStdout) [code, stderr] = await runClosed(argv, env);
      else stderr = (await run(process.execPath, argv, { cwd: root, env, timeout: 30_000 })).stderr;
    } catch (e) {
      const x = e as { code?: unknown; stderr: string };
      if (typeof x.code !== 'number') throw e;
      code = x.code;
      stderr = x.stderr;
    }
    const loaded = new Set<string>();
    for (const url of readFileSync(trace, 'utf8').split('\n')) {
      if (!url) continue;
      const path = relative(root, fileURLToPath(url.replace(/[?#].*$/, '')));
      if (!path.startsWith('..')) loaded.add(path);
    }
    return { code, stderr, loaded: [...loaded].sort() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `node …argv` with its stdout closed on our side at once: its exit code (-1: a signal), stderr. */
function runClosed(argv: string[], env: NodeJS.ProcessEnv): Promise<[number, string]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve([code ?? -1, stderr]);
    });
  });
}

describe('what a weft command loads', () => {
  test('--help, an option error and `weft lessons` load no weft module outside src/cli/, and no lesson', async () => {
    // Regression: src/cli/main.ts imported serve.ts, and with it weft's asyncio, gevent,
    // multiprocessing, selectors, socket and streams, for every command; `weft lessons` imported
    // every lesson to list them (some 0.5 and 1.3 CPU-seconds).
    const cases: [string[], number][] = [
      [['--help'], 0],
      [['serve', 'echo', '--port', 'abc'], 1],
      [['load', 'echo', '--port', 'abc'], 1],
      [['lessons'], 0],
    ];
    for (const [args, code] of cases) {
      const r = await traced(...args);
      assert.equal(r.code, code, `weft ${args.join(' ')}: ${r.stderr}`);
      const heavy = r.loaded.filter(
        (p) =>
          (p.startsWith('src/') && !p.startsWith('src/cli/')) ||
          p === 'src/cli/serve.ts' ||
          p.startsWith('examples/'),
      );
      assert.deepEqual(heavy, [], `weft ${args.join(' ')} loaded these`);
    }
  });

  test('`weft run 01` loads its lesson and no other', async () => {
    const r = await traced('run', '01');
    assert.equal(r.code, 0, r.stderr);
    const lessons = r.loaded.filter((p) => /^examples\/\d+-/.test(p));
    assert.deepEqual(lessons, ['examples/01-generators-round-robin.ts']);
  });

  test('`weft run 21` whose reader is gone ends quietly without loading weft/multiprocessing', async () => {
    // Regression: ending a lesson's child processes on a closed pipe imported all of
    // weft/multiprocessing (some 0.3 CPU-seconds) to find that the lesson had started none.
    // Lesson 21 waits on its thread after its first line: the closed pipe is met while it runs.
    const r = await tracedWith({ closedStdout: true }, 'run', '21', '--quick');
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.loaded.includes('src/threading/index.ts'), 'lesson 21 ran');
    assert.deepEqual(
      r.loaded.filter((p) => p.startsWith('src/multiprocessing/')),
      [],
    );
  });

  test('serve: a name Object.prototype has is no model', async () => {
    // Regression: the model was looked up in an object, so `--model constructor` passed the
    // check and failed with "model.start is not a function" and a stack.
    const r = await weft('serve', 'echo', '--model', 'constructor', '--port', '0');
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      'weft: weft serve: unknown model "constructor" (one of: streams, sockets, selectors, ' +
        'greenlets, process, polling, epoll, node)\n',
    );
  });
});

describe('the lessons read without importing them', () => {
  test('every lesson of examples/ states its title and module plainly, as its import says', async () => {
    const context: CliContext = { root, typescript: true, out: () => {}, err: () => {} };
    const files = listLessonFiles(context);
    assert.ok(files.length > 40);
    for (const file of files) {
      const read = readLessonHeading(readFileSync(file.path, 'utf8'));
      assert.ok(
        read,
        `${file.id}: \`weft lessons\` cannot read its title and module without importing it ` +
          '(see readLessonHeading in src/cli/lesson-catalog.ts for the form it reads)',
      );
      const lesson = await loadLesson(file);
      assert.deepEqual(read, { title: lesson.title, module: lesson.module }, file.id);
    }
  });

  test('`weft lessons` imports only the lessons whose title or module it cannot read', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'weft-headings-'));
    try {
      mkdirSync(join(scratch, 'examples'));
      const lesson = (name: string, title: string, tail = '') =>
        writeFileSync(
          join(scratch, 'examples', `${name}.ts`),
          [
            'const defineLesson = <T>(l: T): T => l;',
            'const lesson = defineLesson({',
            `  title: ${title},`,
            "  shows: 'what it shows',",
            "  module: 'test',",
            '  async main() {},',
            '});',
            'export default lesson;',
            tail,
          ].join('\n'),
        );
      // Importing this one fails: listed all the same, it was not imported.
      lesson('01-plain', "'A plain title'", "throw new Error('01-plain was imported');");
      lesson('02-built', "['A', 'title', 'built'].join(' ')");
      const out: string[] = [];
      const context: CliContext = {
        root: scratch,
        typescript: true,
        out: (t) => out.push(t),
        err: () => {},
      };
      const program = new Command('weft').exitOverride();
      lessonsCommand.register(program, context);
      await program.parseAsync(['node', 'weft', 'lessons']);
      assert.match(out.join(''), /^01 {2}test {2}A plain title\n02 {2}test {2}A title built\n/);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  test('readLessonHeading reads only the form that leaves no doubt', () => {
    const source = (props: string[], opts: { head?: string; tail?: string } = {}) =>
      [
        opts.head ?? 'const lesson = defineLesson({',
        ...props,
        '});',
        opts.tail ?? 'export default lesson;',
      ].join('\n');
    const shows = "  shows: 'it shows',";
    const main = '  async main({ log }) {',
      body = "    log('title: 1');",
      end = '  },';
    const plain = ["  title: 'T',", shows, '  // a comment', '  module: "m",', main, body, end];
    assert.deepEqual(readLessonHeading(source(plain)), { title: 'T', module: 'm' });
    const unread: [string, string][] = [
      [
        'the title on its own line',
        source(['  title:', "    'T',", "  module: 'm',", shows, main, end]),
      ],
      ['a title built', source(["  title: 'T' + 'U',", "  module: 'm',", shows, main, end])],
      ['an escape', source(["  title: 'T\\'s',", "  module: 'm',", shows, main, end])],
      ['a template', source(['  title: `T`,', "  module: 'm',", shows, main, end])],
      ['a title given twice', source([...plain, "  title: 'U',"])],
      ['a quoted key given twice', source([...plain, "  'title': 'U',"])],
      ['a getter', source([...plain.slice(1), '  get title() {', "    return 'T';", end])],
      ['a spread', source([...plain, '  ...other,'])],
      ['a computed key', source([...plain, "  ['title']: 'U',"])],
      ['no main', source(plain.slice(0, 4))],
      ['no shows', source(plain.filter((l) => l !== shows))],
      ['another default export', source(plain, { tail: 'export default other;' })],
      ['another call', source(plain, { head: 'const lesson = makeLesson({' })],
      ['two lessons', `${source(plain)}\n${source(plain)}`],
    ];
    for (const [what, text] of unread) assert.equal(readLessonHeading(text), null, what);
  });
});
