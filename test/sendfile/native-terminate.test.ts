/**
 * native/sendfile.c in a worker thread that is terminated while it starts transfers: N-API
 * refuses to make values there while the worker's JavaScript still runs, and the transfer's
 * unchecked napi_create_external once handed V8 an unset value (a segfault of the whole process).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { binding } from '../../src/sendfile/native-binding.js';
import { checkLeaks } from '../support/leaks.js';
import { assertSurvivesTermination } from '../support/terminate-workers.js';

checkLeaks();

const ROOT = new URL('../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'weft-sendfile-terminate-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a worker terminated at any moment of its sendfile transfers does not bring the process down', {
  skip: binding !== null ? false : 'the sendfile addon is not built here',
}, async () => {
  const worker = join(dir, 'transfers.ts');
  writeFileSync(
    worker,
    `import { openSync } from 'node:fs';
import { setImmediate as turn } from 'node:timers/promises';
import { parentPort } from 'node:worker_threads';
import { binding } from '${ROOT}src/sendfile/native-binding.ts';
const b = binding!;
// Empty transfers (count 0) of a file to itself: each is made and ends at once, so the calls
// that make them fill the worker's time without a socket to keep.
const fd = openSync(${JSON.stringify(worker)}, 'r');
parentPort?.postMessage('started');
for (;;) {
  for (let i = 0; i < 50; i++) b.sendfileStart(fd, fd, 0, 0, () => {});
  await turn(); // their callbacks run, and their duplicated descriptors close
}
`,
  );
  await assertSurvivesTermination(worker);
});
