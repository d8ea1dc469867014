/**
 * Every code block opened with ```ts run in docs/*.md is a test: it is written to a scratch
 * file, run with the tsx loader (so `weft/<module>` resolves to the sources), and must exit 0.
 * Blocks throw when what they show does not happen. A block that needs an addon says so on its
 * fence (```ts run needs=shm, test/support/doc-needs.ts) and is skipped where the addon is not.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { skipFor } from '../support/doc-needs.js';
import { TS_IMPORT } from '../support/ts.js';

const root = new URL('../../', import.meta.url).pathname;
const docsDir = join(root, 'docs');
// One scratch directory per run: a second run in the same checkout (another npm test, an editor's
// test runner) would otherwise delete the files of this one in its after().
const scratch = join(root, '.tmp', `doc-examples-${process.pid}`);
mkdirSync(scratch, { recursive: true });
after(() => rmSync(scratch, { recursive: true, force: true }));

for (const file of readdirSync(docsDir)
  .filter((f) => f.endsWith('.md'))
  .sort()) {
  const text = readFileSync(join(docsDir, file), 'utf8');
  const blocks = [...text.matchAll(/```ts run( [^\n]*)?\n([\s\S]*?)```/g)].map((m) => ({
    words: m[1] ?? '',
    code: m[2] as string,
  }));
  if (blocks.length === 0) continue;
  describe(`docs/${file}`, () => {
    blocks.forEach(({ words, code }, i) => {
      const line = text.slice(0, text.indexOf(code)).split('\n').length;
      const skip = skipFor(words, `docs/${file}:${line - 1}`);
      test(`example ${i + 1} (line ${line}) runs`, { skip }, () => {
        const path = join(scratch, `${file.replace(/\W/g, '_')}-${i + 1}.ts`);
        writeFileSync(path, code);
        const r = spawnSync(process.execPath, ['--import', TS_IMPORT, path], {
          cwd: root,
          encoding: 'utf8',
          timeout: 60_000,
        });
        assert.equal(
          r.status,
          0,
          `docs/${file} example at line ${line} failed:\n${r.stderr}${r.stdout}`,
        );
      });
    });
  });
}
