/**
 * A Pipe end sent inside a message of another Pipe counts as on its way (its token) until the
 * receiver revives it. When every handle of the receiving end closed with the message unread,
 * the broker dropped the message and kept its token: the sent end's other side never saw EOF
 * (Python closes the descriptor with the message nobody unpickles, so the peer sees EOF). The
 * broker now drops the tokens of the messages it drops.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Connection, Pipe } from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';
import { settles } from '../support/settles.js';

checkLeaks({ graceMs: 3000 });

/**
 * What `b.recv()` answers: an error's name or 'a message' (a wait past 20 s fails the test,
 * `settles`).
 */
function recvOutcome(b: Connection): Promise<string> {
  return settles(
    b.recv().then(
      () => 'a message',
      (e: Error) => e.name,
    ),
    'recv on the other end',
    20_000,
  );
}

describe('a Pipe end in a message dropped unread: its other side sees EOF', () => {
  test('the message waits at the broker when the receiving end closes', async () => {
    const [a, b] = Pipe();
    const [r, w] = Pipe(false);
    // r is the receiving end of the carrying Pipe, w its sending end.
    w.send({ end: a });
    a.close();
    // The token still counts a: b sees no EOF while the message may be received.
    assert.equal(await b.poll(300), false);
    r.close();
    assert.equal(await recvOutcome(b), 'EOFError');
    w.close();
    b.close();
  });

  test('the message was fetched in a batch, not received, when the receiving end closes', async () => {
    const [a, b] = Pipe();
    const [r, w] = Pipe(false);
    w.send('first');
    w.send(a);
    a.close();
    // Brings both messages here (a Pipe direction prefetches): the second is held unread.
    assert.equal(await r.recv(), 'first');
    r.close();
    assert.equal(await recvOutcome(b), 'EOFError');
    w.close();
    b.close();
  });

  test('an end in a message that is received still counts, and works', async () => {
    const [a, b] = Pipe();
    const [r, w] = Pipe(false);
    w.send({ end: a });
    a.close();
    const got = (await r.recv()) as { end: Connection };
    r.close();
    got.end.send('through the received end');
    assert.equal(await b.recv(), 'through the received end');
    got.end.close();
    assert.equal(await recvOutcome(b), 'EOFError');
    w.close();
    b.close();
  });
});
