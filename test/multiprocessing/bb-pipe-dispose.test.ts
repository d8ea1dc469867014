/**
 * A Connection — a Pipe end, or a Listener/Client one — is closed by `using` / `await using`,
 * as Python's `with conn:` closes it (docs/multiprocessing.md says to hold them with `using`).
 * It had no Symbol.dispose: `using c = await Client(…)` threw "Object not disposable" at the
 * declaration, and nothing was closed.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Client, EOFError, Listener, Pipe } from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks({ graceMs: 3000 });

describe('Connection and using', () => {
  test('a Pipe end held with using is closed at the block end: the other end sees EOF', async () => {
    const [keep, scoped] = Pipe();
    {
      using end = scoped;
      end.send('last');
      assert.equal(end.closed, false);
    }
    assert.equal(scoped.closed, true);
    assert.equal(await keep.recv(), 'last');
    await assert.rejects(keep.recv(), EOFError);
    keep.close();
  });

  test('await using closes a one-way end too', async () => {
    const [r, w] = Pipe(false);
    {
      await using end = w;
      end.send(1);
    }
    assert.equal(w.closed, true);
    assert.equal(await r.recv(), 1);
    await assert.rejects(r.recv(), EOFError);
    r.close();
  });

  test('Client and accepted connections held with using are closed at the block end', async () => {
    using listener = new Listener(['127.0.0.1', 0], { authkey: Buffer.from('k') });
    let server: Awaited<ReturnType<Listener['accept']>> | undefined;
    {
      using client = await Client(listener.address, { authkey: Buffer.from('k') });
      server = await listener.accept();
      client.send({ n: 1 });
      assert.deepEqual(await server.recv(), { n: 1 });
    }
    // The client closed: the server's next recv ends with EOF.
    await assert.rejects(server.recv(), EOFError);
    {
      await using s = server;
      assert.equal(s.closed, false);
    }
    assert.equal(server.closed, true);
  });

  test('disposing a Connection closed already does nothing more', () => {
    const [a, b] = Pipe();
    a.close();
    a[Symbol.dispose]();
    assert.equal(a.closed, true);
    b[Symbol.dispose]();
    b[Symbol.dispose]();
    assert.equal(b.closed, true);
  });
});
