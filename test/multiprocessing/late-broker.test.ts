/**
 * A root's broker is a thread that may take seconds to start on a loaded machine (its modules
 * loaded first): a blocking call (`getSync`) made meanwhile must wait for it as an async one
 * does (60 s), not give up after 10 s with ERR_WEFT_BROKER_UNREACHABLE — which a root's first
 * `p.start(); q.getSync()` did in a loaded suite run (start-then-block.test.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runScript } from '../support/run-script.js';

test("a blocking get waits for a broker that starts 11 s late (the sync client's retry)", async () => {
  const script = fileURLToPath(new URL('./fixtures/late-broker.ts', import.meta.url));
  const r = await runScript(script, ['11000'], 90_000);
  assert.equal(r.stderr, '');
  assert.equal(r.stdout.trim(), 'got: late but there');
  assert.equal(r.status, 0);
});
