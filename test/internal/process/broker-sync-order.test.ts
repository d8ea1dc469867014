/**
 * The broker's ordering of a thread's sync requests against its async messages
 * (src/internal/process/broker.ts, `dispatchSync`), spoken on raw sockets: a sync request waits
 * until the thread's async connection has run `after` messages, and several waiting run in the
 * order they came.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { broker, ensureBroker } from '../../../src/internal/process/broker-client.js';
import { FrameReader, frame } from '../../../src/internal/process/broker-wire.js';
import { checkLeaks } from '../../support/leaks.js';

checkLeaks({ graceMs: 3000 });

function open(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(path, () => resolve(s));
    s.once('error', reject);
  });
}

test('sync requests waiting for the async connection run, all of them and in order, once it delivers', async () => {
  const path = ensureBroker();
  await broker().request('ping-never-fails', undefined, []); // listening
  const owner = `test-${process.pid}-order`;
  const hello = (role: 'a' | 's') => ({
    r: -1,
    o: 'hello',
    a: [process.pid, 'order', owner, role, 0],
  });
  const s = await open(path);
  const replies: number[] = [];
  let allIn!: () => void;
  const done = new Promise<void>((resolve) => {
    allIn = resolve;
  });
  s.on('data', (d) => reader.push(d));
  const reader = new FrameReader(
    (ms) => {
      for (const m of ms as Array<{ r: number }>) replies.push(m.r);
      if (replies.length >= 3) allIn();
    },
    (e) => {
      throw e;
    },
  );
  // Three sync requests, each to run after the thread's 3rd async message (its hello and two
  // posts); the async connection is not even open yet.
  s.write(
    frame([
      hello('s'),
      { r: 1, o: 'ping-never-fails', a: [], after: 3 },
      { r: 2, o: 'ping-never-fails', a: [], after: 3 },
      { r: 3, o: 'ping-never-fails', a: [], after: 1 },
    ]),
  );
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(replies, [], 'none ran before the async messages');
  const a = await open(path);
  a.write(frame([hello('a'), { r: -1, o: 'ping-never-fails', a: [] }]));
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(
    replies,
    [],
    'two of three async messages: still waiting (the third behind them)',
  );
  a.write(frame([{ r: -1, o: 'ping-never-fails', a: [] }]));
  await done;
  assert.deepEqual(replies, [1, 2, 3]);
  a.destroy();
  s.destroy();
});
