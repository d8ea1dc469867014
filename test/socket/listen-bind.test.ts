/**
 * Where listen() binds: Python's bind has the kernel's address at once; weft binds in listen(),
 * and for an IP literal before listen() returns on either transport — weft's own descriptor, or
 * Node's net (src/socket/net-listen.ts), which the suite's net pass runs this file on. A host name
 * is bound once Node has resolved it, through dns.lookup as the program left it.
 */
import assert from 'node:assert/strict';
import dns from 'node:dns';
import { test } from 'node:test';
import {
  AF_INET,
  AF_INET6,
  createConnection,
  SOCK_STREAM,
  Socket,
} from '../../src/socket/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

/** Node's own lookup, for every name a test's lookup does not answer itself, and to restore. */
const nodeLookup = dns.lookup;
const callNodeLookup = nodeLookup as (...a: unknown[]) => unknown;

/**
 * Answers a dns.lookup call as Node's does, on a later tick: every address when `all` is asked,
 * else the first.
 */
function answerLater(
  options: unknown,
  callback: unknown,
  found: { address: string; family: number }[],
): object {
  const cb = (typeof options === 'function' ? options : callback) as (...a: unknown[]) => void;
  const all = typeof options === 'object' && options !== null && (options as { all?: boolean }).all;
  process.nextTick(() => (all ? cb(null, found) : cb(null, found[0]?.address, found[0]?.family)));
  return {};
}

test("listen() on an IP literal binds before it returns: getsockname() and fileno() are the kernel's at once", async () => {
  for (const [family, host] of [
    [AF_INET, '127.0.0.1'],
    [AF_INET, ''],
    [AF_INET6, '::1'],
  ] as const) {
    using s = new Socket(family, SOCK_STREAM);
    s.bind([host, 0]);
    const listening = s.listen();
    const [h, port] = s.getsockname() as [string, number];
    assert.equal(h, host === '' ? '0.0.0.0' : host);
    assert.ok(port > 0, `${host}: port ${port} before listen() settled`);
    assert.ok(s.fileno() >= 0, `${host}: descriptor ${s.fileno()}`);
    await listening;
    assert.deepEqual(s.getsockname(), [h, port]);
    // A client may connect to that port as soon as it is read.
    using _c = await createConnection([host === '' ? '127.0.0.1' : host, port]);
    const [conn] = await s.accept();
    conn.close();
  }
});

test('listen() on a host name resolves it with the dns.lookup the program set, and leaves it in place', async () => {
  const asked: string[] = [];
  // A program's own resolver (a cache, a test double): Node's net asks it for the name.
  const mine = ((hostname: string, options: unknown, callback?: unknown) => {
    asked.push(hostname);
    if (hostname !== 'weft-listen.invalid') return callNodeLookup(hostname, options, callback);
    return answerLater(options, callback, [{ address: '127.0.0.1', family: 4 }]);
  }) as typeof dns.lookup;
  dns.lookup = mine;
  try {
    using s = new Socket(AF_INET, SOCK_STREAM);
    s.bind(['weft-listen.invalid', 0]);
    const listening = s.listen();
    assert.equal(dns.lookup, mine);
    await listening;
    assert.deepEqual(asked, ['weft-listen.invalid']);
    const [h, port] = s.getsockname() as [string, number];
    assert.equal(h, '127.0.0.1');
    assert.ok(port > 0);
    // An IP literal never reaches it: bound before listen() returned, above.
    using lit = new Socket(AF_INET, SOCK_STREAM);
    lit.bind(['127.0.0.1', 0]);
    await lit.listen();
    assert.deepEqual(asked, ['weft-listen.invalid']);
    assert.equal(dns.lookup, mine);
  } finally {
    dns.lookup = nodeLookup;
  }
});

test("a dns.lookup of the program's that throws for the name: listen() rejects, the lookup stays, the socket may listen again", async () => {
  const mine = ((hostname: string, options: unknown, callback?: unknown) => {
    if (hostname === 'weft-throws.invalid') throw new Error('no resolver for weft-throws.invalid');
    return callNodeLookup(hostname, options, callback);
  }) as typeof dns.lookup;
  dns.lookup = mine;
  try {
    using s = new Socket(AF_INET, SOCK_STREAM);
    s.bind(['weft-throws.invalid', 0]);
    let listening: Promise<void> | undefined;
    assert.doesNotThrow(() => {
      listening = s.listen();
    });
    await assert.rejects(listening as Promise<void>, /no resolver for weft-throws\.invalid/);
    assert.equal(dns.lookup, mine);
    s.bind(['127.0.0.1', 0]);
    await s.listen();
    assert.ok((s.getsockname() as [string, number])[1] > 0);
  } finally {
    dns.lookup = nodeLookup;
  }
});

test("listen() on an IP literal inside the program's dns.lookup (answering another listen) binds at once too", async () => {
  using inner = new Socket(AF_INET, SOCK_STREAM);
  inner.bind(['127.0.0.1', 0]);
  let innerPort = -1;
  let innerListening: Promise<void> | undefined;
  const mine = ((hostname: string, options: unknown, callback?: unknown) => {
    if (hostname !== 'weft-outer.invalid') return callNodeLookup(hostname, options, callback);
    innerListening = inner.listen();
    innerPort = (inner.getsockname() as [string, number])[1];
    return answerLater(options, callback, [{ address: '127.0.0.1', family: 4 }]);
  }) as typeof dns.lookup;
  dns.lookup = mine;
  try {
    using outer = new Socket(AF_INET, SOCK_STREAM);
    outer.bind(['weft-outer.invalid', 0]);
    const outerListening = outer.listen();
    assert.ok(innerPort > 0, `the inner listen's port ${innerPort}`);
    assert.equal(dns.lookup, mine);
    await Promise.all([outerListening, innerListening]);
    const outerPort = (outer.getsockname() as [string, number])[1];
    assert.ok(outerPort > 0 && outerPort !== innerPort);
  } finally {
    dns.lookup = nodeLookup;
  }
});

test("a host name with IPv6 and IPv4 addresses is looked up in the socket's family, as Python's getaddrinfo", async () => {
  const families: unknown[] = [];
  // What glibc answers for 'localhost' where /etc/hosts lists '::1 localhost' first.
  const dual = ((hostname: string, options: unknown, callback?: unknown) => {
    if (hostname !== 'weft-dual.invalid') return callNodeLookup(hostname, options, callback);
    const o = (typeof options === 'object' && options !== null ? options : {}) as {
      family?: number;
    };
    families.push(o.family);
    const found = [
      { address: '::1', family: 6 },
      { address: '127.0.0.1', family: 4 },
    ].filter((a) => !o.family || a.family === o.family);
    return answerLater(options, callback, found);
  }) as typeof dns.lookup;
  dns.lookup = dual;
  try {
    for (const [family, expected] of [
      [AF_INET, '127.0.0.1'],
      [AF_INET6, '::1'],
    ] as const) {
      using s = new Socket(family, SOCK_STREAM);
      s.bind(['weft-dual.invalid', 0]);
      await s.listen();
      assert.equal((s.getsockname() as [string, number])[0], expected);
    }
    assert.deepEqual(families, [4, 6]);
  } finally {
    dns.lookup = nodeLookup;
  }
});
