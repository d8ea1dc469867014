/**
 * Items nobody has got yet wait in the broker thread (src/internal/process/broker-store.ts): a
 * backlog past a few items goes into memory outside its JavaScript heap. Before, every item up
 * to 64 KiB waited on that heap, and a backlog larger than it ended the broker thread (V8's heap
 * limit): every process of the tree lost its broker. Here the broker's old generation is capped
 * (WEFT_BROKER_MAX_OLD_MB) well below the backlog of a Queue and of a Pipe.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runScript } from '../support/run-script.js';

/** Each queue's backlog, in MB: over the broker's cap of 32, and small enough for a CI box. */
const BACKLOG_MB = '48';

const fixture = fileURLToPath(new URL('./fixtures/backlog-off-heap.ts', import.meta.url));

describe('a backlog larger than the broker thread heap', () => {
  test('binary, object, number and string items all come back, in order, and the broker lives', async () => {
    // 32 MB of old generation; 48 MB of items in each of a Queue and a Pipe (1.5 times that:
    // the store before ended the broker with it).
    const r = await runScript(fixture, ['32', BACKLOG_MB], 300_000);
    assert.equal(r.stderr.includes('out of memory'), false, r.stderr);
    assert.equal(r.status, 0, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
    const n = Math.ceil((Number(BACKLOG_MB) * 1024 * 1024) / 1024);
    assert.equal(r.stdout.trim(), `ok ${n} ${n}`);
  });

  test("a Pipe's reading end closed with its backlog unread: the broker lives on", async () => {
    // Before, the close read the whole backlog back onto the broker's heap (to find Pipe ends
    // among the items) and V8 ended the broker thread.
    const r = await runScript(fixture, ['32', BACKLOG_MB, 'close'], 300_000);
    assert.equal(r.stderr.includes('out of memory'), false, r.stderr);
    assert.equal(r.status, 0, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
    assert.equal(r.stdout.trim(), 'ok closed');
  });
});
