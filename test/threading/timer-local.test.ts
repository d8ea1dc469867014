/**
 * `Timer` and `local`, exported from weft/threading as Python's threading has them (bug bash),
 * and the short reprs of the primitives (`String(lock)`, util.inspect).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { inspect } from 'node:util';
import { Queue } from '../../src/queue/index.js';
import {
  BoundedSemaphore,
  Condition,
  Event,
  Lock,
  local,
  RLock,
  Semaphore,
  Thread,
  Timer,
} from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';
import { readLocal, timerFired } from './fixtures/tasks.js';

checkLeaks();

describe('Timer', () => {
  test('calls the function with args and kwargs after the interval, in its own thread', async () => {
    const out = new Queue<unknown>();
    const t = new Timer(20, timerFired, [out, 'late'], { n: 1 });
    t.start();
    assert.deepEqual(await out.get({ timeout: 15_000 }), ['fired', 'late', { n: 1 }]);
    await t.join();
    assert.equal(t.finished.isSet(), true);
  });

  test('cancel() before the interval passes calls nothing', async () => {
    const out = new Queue<unknown>();
    const t = new Timer(60_000, timerFired, [out, 'never']);
    t.start();
    t.cancel();
    await t.join();
    assert.equal(out.qsize(), 0);
  });
});

describe('local', () => {
  test('arrives in another thread empty, as one instance, and keeps each side apart', async () => {
    const data = new local();
    data.mine = 'main';
    const out = new Queue<unknown>();
    const t = new Thread({ target: readLocal, args: [data, data, out] });
    t.start();
    assert.deepEqual(await out.get({ timeout: 15_000 }), [{}, true, 'worker']);
    await t.join();
    assert.equal(data.mine, 'main');
    const back = new Queue<local>();
    back.putSync(data);
    assert.equal(await back.get(), data);
  });

  test("takes no arguments, as Python's threading.local(); a subclass passes its own", () => {
    const Local = local as unknown as new (...args: unknown[]) => local;
    assert.throws(() => new Local(5), {
      name: 'TypeError',
      message: 'local() takes no arguments: received 1 (set attributes on the instance instead)',
    });
    class Named extends local {
      constructor(readonly label: string) {
        super();
      }
    }
    assert.equal(new Named('x').label, 'x');
  });
});

describe('reprs', () => {
  test('locks, semaphores, conditions and events print like Python, not as shared tables', async () => {
    const l = new Lock();
    assert.equal(String(l), `<unlocked weft.threading.Lock object ${l.name}>`);
    l.acquireSync();
    assert.equal(inspect(l), `<locked weft.threading.Lock object ${l.name}>`);
    l.release();
    const r = new RLock();
    r.acquireSync();
    r.acquireSync();
    assert.match(String(r), /^<locked weft\.threading\.RLock object RLock-\d+ owner=\d+ count=2>$/);
    r.release();
    r.release();
    assert.equal(String(new Semaphore(3)), '<weft.threading.Semaphore: value=3>');
    const b = new BoundedSemaphore(2);
    b.acquireSync();
    assert.equal(inspect(b), '<weft.threading.BoundedSemaphore: value=1/2>');
    const c = new Condition(l);
    assert.equal(
      String(c),
      `<weft.threading.Condition(<unlocked weft.threading.Lock object ${l.name}>, 0)>`,
    );
    const e = new Event();
    assert.equal(inspect({ e }), '{ e: <weft.threading.Event: unset> }');
  });
});
