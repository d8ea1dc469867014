/**
 * What doc-examples.test.ts leaves out of the docs that users copy:
 * - the README's ```ts run blocks, run as that test runs the pages of docs/ (it must exit 0);
 * - every TypeScript block of the README and of docs/*.md, `ts run` or not, type-checked against
 *   the sources (as tsx resolves them: `weft/<module>` is `src/<module>/index.ts`), so that a
 *   renamed export, method or option breaks a test even in a block that cannot run (a server
 *   that serves for ever, a block that needs the shm addon);
 * - every `ERR_WEFT_…` code the README or a docs page names is one that src/ uses.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import ts from 'typescript';
import { skipFor } from '../support/doc-needs.js';
import { TS_IMPORT } from '../support/ts.js';

const root = new URL('../../', import.meta.url).pathname;
// One scratch directory per run, as in doc-examples.test.ts: two runs in one checkout must not
// delete each other's files.
const scratch = join(root, '.tmp', `examples-run-${process.pid}`);
mkdirSync(scratch, { recursive: true });
after(() => rmSync(scratch, { recursive: true, force: true }));

const pages = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];

interface Block {
  page: string;
  line: number;
  code: string;
  run: boolean;
  /** Why its run is skipped here (the needs on its fence, test/support/doc-needs.ts), or false. */
  skip: string | false;
  /** Where the block is written for the type check or the run. */
  file: string;
}

function blocksOf(page: string): Block[] {
  const text = readFileSync(join(root, page), 'utf8');
  return [...text.matchAll(/^```(?:ts|typescript)( run( [^\n]*)?)?\n([\s\S]*?)^```/gm)].map((m) => {
    const line = text.slice(0, m.index).split('\n').length + 1;
    return {
      page,
      line,
      code: m[3] as string,
      run: m[1] !== undefined,
      skip: m[1] === undefined ? false : skipFor(m[2] ?? '', `${page}:${line - 1}`),
      file: join(scratch, `${page.replace(/\W/g, '_')}-line-${line}.mts`),
    };
  });
}

const blocks = pages.flatMap(blocksOf);
for (const b of blocks) writeFileSync(b.file, b.code);

describe('README.md', () => {
  const runnable = blocks.filter((b) => b.page === 'README.md' && b.run);
  test('has ts run examples', () => assert.ok(runnable.length > 0));
  for (const b of runnable) {
    test(`example at line ${b.line} runs`, { skip: b.skip }, () => {
      const r = spawnSync(process.execPath, ['--import', TS_IMPORT, b.file], {
        cwd: root,
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.equal(
        r.status,
        0,
        `README.md example at line ${b.line} failed:\n${r.stderr}${r.stdout}`,
      );
    });
  }
});

test('every TypeScript block of the README and docs/ type-checks', { timeout: 180_000 }, () => {
  assert.ok(blocks.length > 20, `only ${blocks.length} blocks found`);
  const parsed = ts.getParsedCommandLineOfConfigFile(
    join(root, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  assert.ok(parsed, 'tsconfig.json could not be read');
  const program = ts.createProgram({
    rootNames: blocks.map((b) => b.file),
    options: { ...parsed.options, noEmit: true },
  });
  const problems: string[] = [];
  for (const b of blocks) {
    const source = program.getSourceFile(b.file);
    assert.ok(source, `${b.file} is not in the program`);
    for (const d of [
      ...program.getSyntacticDiagnostics(source),
      ...program.getSemanticDiagnostics(source),
    ]) {
      const at = d.start === undefined ? 0 : source.getLineAndCharacterOfPosition(d.start).line;
      problems.push(
        `${b.page}:${b.line + at}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`,
      );
    }
  }
  assert.deepEqual(problems, [], `doc examples that do not compile:\n${problems.join('\n')}`);
});

test('every ERR_WEFT_ code the docs name is one src/ uses', () => {
  const sources: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (e.name.endsWith('.ts')) sources.push(readFileSync(join(dir, e.name), 'utf8'));
    }
  };
  walk(join(root, 'src'));
  const src = sources.join('\n');
  const missing: string[] = [];
  for (const page of pages) {
    const text = readFileSync(join(root, page), 'utf8');
    for (const code of new Set(text.match(/\bERR_WEFT_[A-Z0-9_]*[A-Z0-9]\b/g) ?? [])) {
      if (!new RegExp(`\\b${code}\\b`).test(src)) missing.push(`${page}: ${code}`);
    }
  }
  assert.deepEqual(missing, [], `codes no source raises:\n${missing.join('\n')}`);
});
