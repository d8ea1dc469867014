import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, test } from 'node:test';
import { OSError } from '../../src/socket/errors.js';
import { bindEach, PORT_ZERO_TRIES } from '../../src/streams/listener-set.js';

/** A listener that binds nothing: its port, and whether it was closed. */
class FakeListener extends EventEmitter {
  closed = false;
  constructor(
    readonly host: string,
    readonly port: number,
  ) {
    super();
  }
  address(): { address: string; port: number; family: string } | null {
    return this.closed ? null : { address: this.host, port: this.port, family: 'IPv4' };
  }
  close(): void {
    this.closed = true;
  }
}

describe('bindEach (the addresses of one server)', () => {
  test("port 0: the others take the first one's port; taken there, the whole set is tried afresh, a bounded number of times, closing what each try bound", async () => {
    const made: FakeListener[] = [];
    const asked: [string, number][] = [];
    let next = 40000;
    const bindOne = async (host: string, port: number): Promise<FakeListener> => {
      asked.push([host, port]);
      // '::' is always taken at the port 0.0.0.0 got: the retry can never succeed.
      if (host === '::') throw new OSError('Address already in use', 'EADDRINUSE');
      const l = new FakeListener(host, port === 0 ? next++ : port);
      made.push(l);
      return l;
    };
    await assert.rejects(
      bindEach(['0.0.0.0', '::'], 0, bindOne, (l) => l.port),
      (e: unknown) => e instanceof OSError && e.errnoName === 'EADDRINUSE',
    );
    assert.equal(made.length, PORT_ZERO_TRIES, 'one listener bound per try, every try made');
    assert.equal(asked.length, 2 * PORT_ZERO_TRIES, 'each try asked both addresses');
    assert.ok(
      made.every((l) => l.closed),
      'every listener a try bound is closed',
    );
    // Each try asked '::' for the port the first address had just got.
    for (let i = 0; i < asked.length; i += 2) {
      assert.deepEqual(asked[i], ['0.0.0.0', 0]);
      assert.deepEqual(asked[i + 1], ['::', made[i / 2]!.port]);
    }
  });

  test('a port given is not tried afresh: taken on one address, the call fails at once, the others closed', async () => {
    const made: FakeListener[] = [];
    let calls = 0;
    await assert.rejects(
      bindEach(
        ['127.0.0.1', '::1'],
        8080,
        async (host, port) => {
          calls += 1;
          if (host === '::1') throw new OSError('Address already in use', 'EADDRINUSE');
          const l = new FakeListener(host, port);
          made.push(l);
          return l;
        },
        (l) => l.port,
      ),
      { errnoName: 'EADDRINUSE' },
    );
    assert.equal(calls, 2);
    assert.ok(made.length === 1 && made[0]!.closed);
  });

  test('an address family the system lacks is skipped while another binds; all lacking, its error', async () => {
    const lacking = async (host: string, port: number): Promise<FakeListener> => {
      if (host.includes(':')) throw new OSError('Address family not supported', 'EAFNOSUPPORT');
      return new FakeListener(host, port === 0 ? 41000 : port);
    };
    const got = await bindEach(['0.0.0.0', '::'], 0, lacking, (l) => l.port);
    assert.deepEqual(
      got.map((l) => l.address()),
      [{ address: '0.0.0.0', port: 41000, family: 'IPv4' }],
    );
    await assert.rejects(
      bindEach(['::'], 0, lacking, (l) => l.port),
      {
        errnoName: 'EAFNOSUPPORT',
      },
    );
  });
});
