/**
 * An excepthook that throws. Its error was printed by the default hook under the failing
 * thread's name, "Exception in thread T1:" followed by the hook's error, which read as what the
 * thread had thrown. CPython prints "Exception in threading.excepthook:" and the hook's
 * traceback (threading.py, invoke_excepthook).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reportThreadException } from '../../src/threading/excepthook.js';
import { currentThread, setExcepthook } from '../../src/threading/index.js';
import { stderrOf } from '../support/stderr.js';

test('an error thrown by the excepthook is reported as the hook\'s, under "Exception in threading.excepthook:"', () => {
  const seen: unknown[] = [];
  const prev = setExcepthook((args) => {
    seen.push(args.excValue);
    throw new RangeError('the hook failed');
  });
  try {
    const thrown = new TypeError('the thread failed');
    const text = stderrOf(() => reportThreadException(currentThread(), thrown));
    assert.deepEqual(seen, [thrown]);
    assert.ok(
      text.startsWith('Exception in threading.excepthook:\nRangeError: the hook failed\n'),
      text,
    );
    assert.doesNotMatch(text, /Exception in thread /);
  } finally {
    setExcepthook(prev);
  }
});
