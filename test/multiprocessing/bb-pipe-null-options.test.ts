/**
 * `null` for a Connection's options is no options, as it is for Listener.accept (and as
 * TypeScript callers coming from Python's None write it): recv(null), recvBytes(n, null),
 * recvBytesInto(buf, 0, null) and poll(t, null) threw "Cannot read properties of null (reading
 * 'signal')", on a Pipe end and on a Listener/Client connection alike.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Client, Listener, Pipe } from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks({ graceMs: 3000 });

const NULL = null as never;

describe('Connection methods take null options', () => {
  test('a Pipe end', async () => {
    const [a, b] = Pipe();
    try {
      b.send('x');
      assert.equal(await a.poll(1000, NULL), true);
      assert.equal(await a.recv(NULL), 'x');
      b.sendBytes(Buffer.from('yz'));
      assert.deepEqual(await a.recvBytes(null, NULL), Buffer.from('yz'));
      b.sendBytes(Buffer.from('w'));
      const buf = Buffer.alloc(2);
      assert.equal(await a.recvBytesInto(buf, 1, NULL), 1);
      assert.deepEqual(buf, Buffer.from([0, 0x77]));
    } finally {
      a.close();
      b.close();
    }
  });

  test('a Listener/Client connection', async () => {
    using listener = new Listener(['127.0.0.1', 0]);
    using client = await Client(listener.address);
    using server = await listener.accept(NULL);
    client.send({ n: 1 });
    assert.equal(await server.poll(null, NULL), true);
    assert.deepEqual(await server.recv(NULL), { n: 1 });
    client.sendBytes(Buffer.from('ab'));
    assert.deepEqual(await server.recvBytes(null, NULL), Buffer.from('ab'));
  });
});
