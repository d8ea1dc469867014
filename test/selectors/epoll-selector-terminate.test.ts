/**
 * native/io.c in a worker thread that is terminated while it makes epoll sets: N-API refuses to
 * make values there while the worker's JavaScript still runs, and the poller's unchecked
 * napi_create_external once handed V8 an unset value (a segfault of the whole process).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { EpollSelector } from '../../src/selectors/index.js';
import { checkLeaks } from '../support/leaks.js';
import { assertSurvivesTermination } from '../support/terminate-workers.js';

checkLeaks();

const ROOT = new URL('../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'weft-epoll-terminate-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a worker terminated at any moment of its EpollSelector()s does not bring the process down', {
  skip: EpollSelector.native ? false : 'the weft_io addon is not built here',
}, async () => {
  const worker = join(dir, 'selectors.ts');
  writeFileSync(
    worker,
    `import { parentPort } from 'node:worker_threads';
import { EpollSelector } from '${ROOT}src/selectors/index.ts';
parentPort?.postMessage('started');
// Synchronous: the terminate lands while JavaScript runs, most likely inside the addon.
for (;;) new EpollSelector().close();
`,
  );
  await assertSurvivesTermination(worker);
});
