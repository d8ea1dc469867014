/**
 * The loop verbs (`sockAccept`, `sockRecv`, `sockSendall`, `sockConnect`) given something that
 * is not a weft `Socket` — a `RawSocket`, a Node `net.Socket`, null, a plain object. They
 * return promises, so they reject, with a `TypeError` naming the verb and what it was given
 * (they threw "sock._recv is not a function" synchronously before).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, test } from 'node:test';
import {
  AF_INET,
  SOCK_STREAM,
  Socket,
  sockAccept,
  sockConnect,
  sockRecv,
  sockSendall,
} from '../../src/socket/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

const verbs: [string, (sock: unknown) => Promise<unknown>][] = [
  ['sockAccept', (s) => sockAccept(s as Socket)],
  ['sockRecv', (s) => sockRecv(s as Socket, 10)],
  ['sockSendall', (s) => sockSendall(s as Socket, 'x')],
  ['sockConnect', (s) => sockConnect(s as Socket, ['127.0.0.1', 1])],
];

describe('bug bash helper-U: the loop verbs refuse what is not a weft Socket', () => {
  for (const [name, call] of verbs) {
    test(`${name} rejects a non-Socket with a TypeError naming it`, async () => {
      const netSock = new net.Socket();
      for (const [what, shown] of [
        [null, /received null/],
        [{}, /received an object/],
        [42, /received 42/],
        [netSock, /received an instance of Socket/],
      ] as const) {
        let p: Promise<unknown> | undefined;
        assert.doesNotThrow(() => {
          p = call(what);
        }, `${name} must reject, not throw`);
        await assert.rejects(p as Promise<unknown>, (e: unknown) => {
          assert.ok(e instanceof TypeError, `got ${String(e)}`);
          assert.match(
            (e as Error).message,
            new RegExp(`^${name}\\(\\) expects a weft/socket Socket`),
          );
          assert.match((e as Error).message, shown);
          return true;
        });
      }
      netSock.destroy();
    });
  }

  test('a weft Socket still goes through (a closed one raises EBADF, as before)', async () => {
    const s = new Socket(AF_INET, SOCK_STREAM);
    s.close();
    await assert.rejects(sockRecv(s, 10), (e: unknown) => {
      assert.equal((e as { errno?: number }).errno, 9);
      return true;
    });
  });
});
