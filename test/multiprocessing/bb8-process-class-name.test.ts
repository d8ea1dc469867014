/**
 * A Process subclass's default name is made from its class's name, as CPython's
 * (`type(self).__name__ + '-' + ':'.join(identity)`): `class Worker(Process)` is `Worker-1`,
 * a subclass of it `Sub-2`, a plain Process `Process-3` (checked with Python 3.11, 'fork' and
 * 'spawn', and 3.13). weft named every one `Process-N`.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Process, Queue } from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';
import { NamedWorker, SubNamedWorker } from './fixtures/bb8-targets.js';

checkLeaks({ graceMs: 3000 });

describe("a Process subclass's default name", () => {
  test('is the class name and the number; the counter is shared with plain Processes', () => {
    const w = new NamedWorker();
    const n = w._identity[0] as number;
    assert.equal(w.name, `NamedWorker-${n}`);
    const s = new SubNamedWorker();
    assert.equal(s.name, `SubNamedWorker-${n + 1}`);
    assert.deepEqual(s._identity, [n + 1]);
    const p = new Process({});
    assert.equal(p.name, `Process-${n + 2}`);
    // A name given is kept, and the Process still takes its number (Python's too).
    const named = new NamedWorker();
    named.name = 'x';
    assert.equal(new NamedWorker({ name: 'given' }).name, 'given');
    assert.equal(new NamedWorker().name, `NamedWorker-${n + 5}`);
  });

  test('an anonymous subclass is named Process-N', () => {
    const Anon = class extends Process {};
    // `const Anon = class …` gives the class the name 'Anon'; one with no name at all:
    const p = new (class extends Process {})();
    assert.match(p.name, /^Process-\d+$/);
    assert.match(new Anon().name, /^Anon-\d+$/);
  });

  test('the child knows itself by that name, and names its own children Process-N:1', async () => {
    const out = new Queue<unknown>();
    const w = new SubNamedWorker();
    const n = w._identity[0] as number;
    w.out = out;
    w.start();
    const seen = await out.get({ timeout: 60_000 });
    await w.join({ timeout: 60_000 });
    assert.equal(w.exitcode, 0);
    out.close();
    assert.deepEqual(seen, {
      name: `SubNamedWorker-${n}`,
      ident: [n],
      childName: `Process-${n}:1`,
      ownName: `SubNamedWorker-${n}`,
    });
  });
});
