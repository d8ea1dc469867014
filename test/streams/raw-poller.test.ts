import assert from 'node:assert/strict';
import { type Socket as NetSocket, connect as netConnect } from 'node:net';
import { test } from 'node:test';
import { RawSocket } from '../../src/socket/raw-socket.js';
import { EPOLLIN, modify, unwatch, watch } from '../../src/streams/raw-poller.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

const turns = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((r) => setTimeout(r, 2));
};

test('a descriptor watched for no events is out of the set: a reset while paused is not reported on every turn', {
  skip: !RawSocket.native && 'the weft_io addon is not built here',
}, async () => {
  const srv = RawSocket.listen(['127.0.0.1', 0]);
  const port = (srv.getsockname() as [string, number])[1];
  const client: NetSocket = netConnect(port, '127.0.0.1');
  await new Promise<void>((r) => client.once('connect', () => r()));
  const [conn] = srv.acceptSync({ timeout: 5000 });
  const fd = conn.fileno();
  const seen: number[] = [];
  watch(fd, EPOLLIN, (events) => seen.push(events));
  try {
    // Paused: nothing to wait for. epoll reports a hang-up or an error whatever the mask, so a
    // descriptor left in the set would be reported on every turn of the loop (a busy loop).
    modify(fd, 0);
    client.resetAndDestroy();
    await turns(25);
    assert.deepEqual(seen, [], 'nothing is reported while the descriptor waits for nothing');
    // Waiting again: the reset is reported (and then on each turn, as level-triggered epoll
    // does, until the owner acts on it).
    modify(fd, EPOLLIN);
    await turns(5);
    assert.ok(seen.length >= 1, 'the reset is reported once the descriptor waits again');
    unwatch(fd);
    const after = seen.length;
    await turns(5);
    assert.equal(seen.length, after, 'nothing after unwatch');
  } finally {
    unwatch(fd);
    conn.close();
    srv.close();
  }
});
