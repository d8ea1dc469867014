import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GreenletExit, getcurrent, sleep, spawn, Timeout } from '../../src/gevent/index.js';
import { CancelledError } from '../../src/internal/errors.js';
import { gate } from '../support/gate.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

class ValueError extends Error {}

// gevent 22.10: `getcurrent().kill(block=False); return 5` gives value 5, successful() True,
// exception None — the hub's throw into a greenlet already dead does nothing.
describe('a greenlet that returns before a kill or a Timeout reaches it ends with its value', () => {
  test('kill({ block: false }) of itself, then return', async () => {
    const linked: string[] = [];
    const g = spawn(async () => {
      getcurrent()!.kill({ block: false });
      return 5;
    });
    g.linkValue(() => linked.push('value'));
    g.linkException(() => linked.push('exception'));
    assert.equal(await g.get(), 5);
    assert.equal(g.value, 5);
    assert.equal(g.successful(), true);
    assert.equal(g.exception, null);
    assert.equal(g.dead, true);
    assert.equal(g.task?.result(), 5);
    await sleep(0);
    assert.deepEqual(linked, ['value']);
  });

  test('a synchronous body, and a kill with a custom exception', async () => {
    const g = spawn(() => {
      getcurrent()!.kill({ block: false });
      return 'sync';
    });
    const h = spawn(async () => {
      getcurrent()!.kill({ exception: ValueError, block: false });
      return 'custom';
    });
    const c = spawn(async () => {
      getcurrent()!.kill({ exception: new CancelledError('plain'), block: false });
      return 'plain';
    });
    assert.equal(await g.get(), 'sync');
    assert.equal(await h.get(), 'custom');
    assert.equal(await c.get(), 'plain');
    assert.equal(h.exception, null);
  });

  test('the kill still reaches it at its next weft await', async () => {
    const g = spawn(async () => {
      getcurrent()!.kill({ block: false });
      await sleep(0);
      return 5;
    });
    await g.join();
    assert.equal(g.successful(), true);
    assert.ok(g.value instanceof GreenletExit);
  });

  test('killed by another greenlet while on a native wait, then returns', async () => {
    const { wait, open } = gate();
    const g = spawn(async () => {
      await wait;
      return 'done';
    });
    await sleep(0); // g waits on the gate
    const killed = g.kill();
    open();
    await killed;
    assert.equal(g.value, 'done');
    assert.equal(g.successful(), true);
  });

  test('its Timeout expired while it was on a native wait, then it returns', async () => {
    const { wait, open } = gate();
    const g = spawn(async () => {
      new Timeout(5).start();
      await wait;
      return 'done';
    });
    await sleep(0);
    await sleep(30); // the Timeout has expired
    open();
    assert.equal(await g.join(), true);
    assert.equal(g.value, 'done');
    assert.equal(g.exception, null);
  });

  test("its task's plain cancel() still ends it cancelled, as an asyncio task", async () => {
    const { wait, open } = gate();
    const g = spawn(async () => {
      await wait;
      return 'done';
    });
    await sleep(0);
    g.task!.cancel();
    open();
    await g.join();
    assert.equal(g.successful(), false);
    assert.ok(g.exception instanceof CancelledError);
    assert.equal(g.task?.cancelled(), true);
  });

  test('a plain cancel() of its task, then a kill, both pending when it returns: it ends cancelled', async () => {
    // The kill is dropped as gevent drops a throw into a dead greenlet; the cancel held behind
    // it is not (helper-95: it was lost with the kill).
    const { wait, open } = gate();
    const g = spawn(async () => {
      await wait;
      return 'done';
    });
    await sleep(0);
    g.task!.cancel('C');
    g.kill({ block: false });
    open();
    await g.join();
    assert.equal(g.successful(), false);
    assert.ok(g.exception instanceof CancelledError);
    assert.equal((g.exception as Error).message, 'C');
    assert.equal(g.task?.cancelled(), true);
  });
});
