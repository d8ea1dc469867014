/**
 * A broker frame its reader cannot read (a value nested deeper than the reading thread's stack,
 * sent by a thread with a larger one) threw from a socket's 'data' listener: in the broker's
 * thread it took the whole process down, in a client it did too. Now the requests it carried
 * fail with RuntimeError ERR_WEFT_UNREADABLE_MESSAGE, that thread's connection ends, and the
 * process goes on. Each case runs in a program of its own: it ends a connection of its process.
 * The frame carries the value in a raw request: a Manager proxy, like a queue item
 * (queue-deep-items.test.ts), sends an object as bytes the broker does not read, and such a value
 * fails only the calls that must read it (the last test).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runScript } from '../support/run-script.js';

const SCRIPT = fileURLToPath(new URL('./fixtures/unreadable-frames.ts', import.meta.url));

function lines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

test("a frame the broker cannot read fails the sender's requests; the process and its other threads go on", async () => {
  const r = await runScript(SCRIPT, ['broker'], 120_000);
  assert.equal(r.status, 0, `exit ${r.status} ${r.signal}: ${r.stderr}`);
  const [thread, main] = lines(r.stdout);
  assert.deepEqual(thread?.thread, [
    'set sent',
    "get: RuntimeError ERR_WEFT_UNREADABLE_MESSAGE the multiprocessing broker could not read a message this thread sent (RangeError: Maximum call stack size exceeded); its requests are lost and this thread's connection to the broker is closed: send flatter data",
  ]);
  assert.deepEqual(main, { mode: 'broker', get: 'flat' });
});

test('a reply this thread cannot read fails its request with a typed error, not the process', async () => {
  const r = await runScript(SCRIPT, ['client'], 120_000);
  assert.equal(r.status, 0, `exit ${r.status} ${r.signal}: ${r.stderr}`);
  const [thread, main] = lines(r.stdout);
  assert.deepEqual(thread?.thread, ['set sent', 'set done']);
  assert.equal(main?.mode, 'client');
  assert.match(
    String(main?.get),
    /^RuntimeError ERR_WEFT_UNREADABLE_MESSAGE A reply of the multiprocessing broker could not be read in this thread \(RangeError: Maximum call stack size exceeded\)/,
  );
});

test('a Manager value too deep to read fails only the calls that read it; every connection goes on', async () => {
  const r = await runScript(SCRIPT, ['manager'], 120_000);
  assert.equal(r.status, 0, `exit ${r.status} ${r.signal}: ${r.stderr}`);
  const [thread, main] = lines(r.stdout);
  const stack = '(RangeError: Maximum call stack size exceeded)';
  assert.deepEqual(thread?.thread, [
    'set ok undefined',
    'append ok 2',
    `index RuntimeError ERR_WEFT_UNREADABLE_MESSAGE The manager could not read a value to compare it ${stack}: it is nested too deeply for the broker's stack; nothing changed: compare flatter data`,
    'flat ok "flat"',
    'size ok 2',
  ]);
  const unreadable = (what: string, where = 'it stays in the manager'): string =>
    `RuntimeError ERR_WEFT_UNREADABLE_MESSAGE ${what}: the value could not be read in this thread ${stack}: it is nested too deeply for this thread's stack; ${where}: store flatter data, or read it in a thread with a larger stack (threading.stackSize())`;
  assert.deepEqual(main, {
    mode: 'manager',
    get: unreadable('DictProxy.get'),
    slice: unreadable('ListProxy.slice'),
    first: 'ok "first"',
    flat: 'ok "flat"',
    pop: unreadable('DictProxy.pop', 'it was removed from the manager'),
    has: 'ok false',
  });
});
