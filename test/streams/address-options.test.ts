import assert from 'node:assert/strict';
import dns from 'node:dns';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  AI_ADDRCONFIG,
  AI_NUMERICHOST,
  AI_PASSIVE,
  gaierror,
} from '../../src/socket/index.js';
import { io } from '../../src/socket/native-io.js';
import { netHasReusePort } from '../../src/streams/address-options.js';
import {
  ConnectionRefusedError,
  openConnection,
  openUnixConnection,
  type StreamReader,
  type StreamWriter,
  startServer,
  startUnixServer,
} from '../../src/streams/index.js';
import { checkLeaks } from '../support/leaks.js';
import { portOf } from '../support/net.js';

checkLeaks();

const HOST = '127.0.0.1';

async function echoOnce(reader: StreamReader, writer: StreamWriter): Promise<void> {
  try {
    writer.write(await reader.readline());
    await writer.drain();
  } finally {
    writer.close();
  }
}

/** An assert.rejects check: Python's gaierror with getaddrinfo's number. */
const gai =
  (errno: number) =>
  (e: unknown): boolean => {
    assert.ok(e instanceof gaierror, `a gaierror: got ${String(e)}`);
    assert.equal(e.errno, errno, String(e));
    return true;
  };

async function roundTrip(host: string, port: number, options = {}): Promise<void> {
  const [reader, writer] = await openConnection(host, port, options);
  writer.write('ping\n');
  assert.equal((await reader.readline()).toString(), 'ping\n');
  writer.close();
  await writer.waitClosed();
}

const TRANSPORTS = io === null ? (['net'] as const) : (['net', 'raw'] as const);

describe('family and flags (getaddrinfo)', () => {
  test('an IP literal of the other family is gaierror EAI_ADDRFAMILY (-9), as Python raises; the right one serves', async () => {
    await assert.rejects(startServer(echoOnce, HOST, 0, { family: AF_INET6 }), gai(-9));
    await assert.rejects(startServer(echoOnce, '::1', 0, { family: AF_INET }), gai(-9));
    await assert.rejects(openConnection(HOST, 1, { family: AF_INET6 }), gai(-9));
    await assert.rejects(openConnection('::1', 1, { family: AF_INET }), gai(-9));
    for (const transport of TRANSPORTS) {
      const server = await startServer(echoOnce, HOST, 0, { family: AF_INET, transport });
      try {
        await roundTrip(HOST, portOf(server), { family: AF_INET });
      } finally {
        server.close();
        await server.waitClosed();
      }
    }
    // A host name is resolved in the family asked for.
    await using byName = await startServer(echoOnce, 'localhost', 0, { family: AF_INET });
    assert.equal(byName.sockets[0]?.family, 'IPv4');
    await roundTrip('localhost', portOf(byName), { family: AF_INET });
    await assert.rejects(openConnection('localhost', portOf(byName), { family: 99 }), gai(-6));
  });

  test('a family getaddrinfo does not know is EAI_FAMILY (-6); a non-integer is a TypeError', async () => {
    await assert.rejects(startServer(echoOnce, HOST, 0, { family: 99 }), gai(-6));
    await assert.rejects(openConnection(HOST, 1, { family: 99 }), gai(-6));
    await assert.rejects(startServer(echoOnce, HOST, 0, { family: '2' as never }), TypeError);
    await assert.rejects(openConnection(HOST, 1, { family: 2.5 }), TypeError);
  });

  test('unknown flag bits are EAI_BADFLAGS (-1); AI_NUMERICHOST refuses a name with EAI_NONAME (-2); the right flags serve', async () => {
    await assert.rejects(openConnection(HOST, 1, { flags: 0x12345 }), gai(-1));
    await assert.rejects(startServer(echoOnce, HOST, 0, { flags: -1 }), gai(-1));
    await assert.rejects(openConnection(HOST, 1, { flags: '4' as never }), TypeError);
    await assert.rejects(openConnection('localhost', 1, { flags: AI_NUMERICHOST }), gai(-2));
    await assert.rejects(startServer(echoOnce, 'localhost', 0, { flags: AI_NUMERICHOST }), gai(-2));
    for (const transport of TRANSPORTS) {
      const server = await startServer(echoOnce, HOST, 0, {
        flags: AI_PASSIVE | AI_NUMERICHOST,
        transport,
      });
      try {
        await roundTrip(HOST, portOf(server), { family: AF_UNSPEC, flags: AI_NUMERICHOST });
        await roundTrip(HOST, portOf(server), { flags: AI_ADDRCONFIG });
      } finally {
        server.close();
        await server.waitClosed();
      }
    }
  });

  test("glibc's IDN flags (AI_IDN 0x40, AI_CANONIDN 0x80, the deprecated 0x100 and 0x200) are taken, as Python hands them to getaddrinfo; 0x800 is EAI_BADFLAGS", async () => {
    // A host name: the flags reach a lookup of weft's own (family given).
    await using server = await startServer(echoOnce, 'localhost', 0, {
      family: AF_INET,
      flags: 0x40 | 0x80,
    });
    for (const flags of [0x40, 0x80, 0x100, 0x200, 0x3c0 | AI_ADDRCONFIG]) {
      await roundTrip('localhost', portOf(server), { family: AF_INET, flags });
    }
    await assert.rejects(openConnection(HOST, 1, { flags: 0x800 }), gai(-1));
  });

  test("family or flags beyond a C int are RangeErrors (Python's OverflowError), not their low 32 bits", async () => {
    // 2 ** 32 + 1 has AI_PASSIVE as its low bits; 2 ** 32 + 2 is AF_INET's.
    await assert.rejects(openConnection(HOST, 1, { flags: 2 ** 32 + 1 }), RangeError);
    await assert.rejects(startServer(echoOnce, HOST, 0, { flags: 2 ** 31 }), RangeError);
    await assert.rejects(openConnection(HOST, 1, { family: 2 ** 32 + 2 }), RangeError);
    await assert.rejects(startServer(echoOnce, HOST, 0, { family: -(2 ** 31) - 1 }), RangeError);
  });

  for (const transport of TRANSPORTS) {
    test(`AF_INET6 with no host listens on '::' only, as asyncio's IPV6_V6ONLY socket; AF_INET on 0.0.0.0 (${transport})`, async () => {
      await using server = await startServer(echoOnce, null, 0, { family: AF_INET6, transport });
      assert.equal(server.sockets[0]?.family, 'IPv6');
      assert.deepEqual(server.sockets[0]?.getsockname(), ['::', portOf(server)]);
      await roundTrip('::1', portOf(server));
      await assert.rejects(openConnection(HOST, portOf(server)), ConnectionRefusedError);
      await using v4 = await startServer(echoOnce, null, 0, { family: AF_INET, transport });
      assert.deepEqual(v4.sockets[0]?.getsockname(), ['0.0.0.0', portOf(v4)]);
      await roundTrip(HOST, portOf(v4));
    });
  }

  test('a Unix socket takes no family, flags or reuse options (TypeError)', async () => {
    const path = join(tmpdir(), `weft-addr-${process.pid}.sock`);
    await assert.rejects(startUnixServer(echoOnce, path, { family: AF_INET } as never), TypeError);
    await assert.rejects(startUnixServer(echoOnce, path, { reusePort: true } as never), TypeError);
    await assert.rejects(openUnixConnection(path, { flags: 0 } as never), TypeError);
    await assert.rejects(openUnixConnection(path, { happyEyeballsDelay: 1 } as never), TypeError);
  });
});

describe('reuseAddress and reusePort', () => {
  test('reuseAddress true (the default) serves; false is a RangeError, a non-boolean a TypeError', async () => {
    await using server = await startServer(echoOnce, HOST, 0, { reuseAddress: true });
    await roundTrip(HOST, portOf(server));
    await assert.rejects(startServer(echoOnce, HOST, 0, { reuseAddress: false }), /SO_REUSEADDR/);
    await assert.rejects(startServer(echoOnce, HOST, 0, { reuseAddress: 1 as never }), TypeError);
    await assert.rejects(startServer(echoOnce, HOST, 0, { reusePort: 'yes' as never }), TypeError);
  });

  test('Node takes reusePort from 22.12 and 23.1 on', () => {
    assert.equal(netHasReusePort('20.20.2'), false);
    assert.equal(netHasReusePort('22.11.0'), false);
    assert.equal(netHasReusePort('22.12.0'), true);
    assert.equal(netHasReusePort('23.0.0'), false);
    assert.equal(netHasReusePort('23.1.0'), true);
    assert.equal(netHasReusePort('24.0.0'), true);
  });

  /** Which transports can set SO_REUSEPORT here: Node's net from 22.12, weft's descriptor with
   * an addon built with it. */
  const REUSE_PORT = [
    ...(netHasReusePort() ? (['net'] as const) : []),
    ...(io?.listenReusePort === true ? (['raw'] as const) : []),
  ];

  for (const transport of REUSE_PORT) {
    test(`reusePort: two servers share one port and both accept its connections; without it the port is taken (${transport})`, async () => {
      const served = { a: 0, b: 0 };
      const counting = (name: 'a' | 'b') => async (r: StreamReader, w: StreamWriter) => {
        served[name] += 1;
        await echoOnce(r, w);
      };
      await using a = await startServer(counting('a'), HOST, 0, { reusePort: true, transport });
      await using b = await startServer(counting('b'), HOST, portOf(a), {
        reusePort: true,
        transport,
      });
      assert.equal(portOf(b), portOf(a));
      // The kernel spreads connections by a hash of their addresses: each new source port is a
      // fresh draw, so both servers get some well before this bound.
      for (let i = 0; i < 200 && (served.a === 0 || served.b === 0); i++) {
        await roundTrip(HOST, portOf(a));
      }
      assert.ok(served.a > 0 && served.b > 0, `both served: ${JSON.stringify(served)}`);
      // Without it, the port is taken (on either transport).
      for (const t of io === null ? (['net'] as const) : (['net', 'raw'] as const)) {
        await assert.rejects(startServer(echoOnce, HOST, portOf(a), { transport: t }), {
          errnoName: 'EADDRINUSE',
        });
      }
    });
  }

  test('reusePort where no transport can set it is a RangeError naming what is missing', async () => {
    if (!netHasReusePort()) {
      await assert.rejects(
        startServer(echoOnce, HOST, 0, { reusePort: true, transport: 'net' }),
        (e: unknown) => e instanceof RangeError && /22\.12/.test(e.message),
      );
      // A host name runs on net only.
      await assert.rejects(
        startServer(echoOnce, 'localhost', 0, { reusePort: true }),
        (e: unknown) => e instanceof RangeError && /22\.12/.test(e.message),
      );
    }
    if (io?.listenReusePort !== true) {
      await assert.rejects(
        startServer(echoOnce, HOST, 0, { reusePort: true, transport: 'raw' }),
        RangeError,
      );
    }
  });
});

/** A name that resolves to 127.0.0.1 and ::1, through a dns.lookup installed for `body`; with
 * `gate`, the lookup answers only once it has settled, `looking` told when it was asked. */
async function withTwoAddressName(
  body: (name: string) => Promise<void>,
  gate?: { answer: Promise<void>; looking: () => void },
): Promise<void> {
  const name = 'both.weft.invalid';
  const nodeLookup = dns.lookup;
  const patched = (host: string, options: unknown, callback: unknown): void => {
    if (host !== name) {
      (nodeLookup as (...a: unknown[]) => void)(host, options, callback);
      return;
    }
    const cb = (typeof options === 'function' ? options : callback) as (...a: unknown[]) => void;
    const o = (typeof options === 'object' && options !== null ? options : {}) as {
      all?: boolean;
      family?: number;
    };
    const found = [
      { address: '127.0.0.1', family: 4 },
      { address: '::1', family: 6 },
    ].filter((a) => !o.family || a.family === o.family);
    const reply = (): void => {
      if (o.all) cb(null, found);
      else cb(null, found[0]?.address, found[0]?.family);
    };
    if (gate === undefined) process.nextTick(reply);
    else {
      gate.looking();
      void gate.answer.then(reply);
    }
  };
  dns.lookup = patched as typeof dns.lookup;
  try {
    await body(name);
  } finally {
    dns.lookup = nodeLookup;
  }
}

describe('every address of the host, as asyncio binds each', () => {
  for (const transport of TRANSPORTS) {
    test(`no host listens on 0.0.0.0 and on :: (IPv6 only), one port, both listed in sockets (${transport})`, async () => {
      await using server = await startServer(echoOnce, null, 0, { transport });
      const names = server.sockets.map((s) => [s.family, ...s.getsockname()]);
      const port = portOf(server);
      assert.deepEqual(names, [
        ['IPv4', '0.0.0.0', port],
        ['IPv6', '::', port],
      ]);
      await roundTrip(HOST, port);
      await roundTrip('::1', port);
    });
  }

  test('a host name with two addresses listens on both; sockets lists each, on one port', async () => {
    await withTwoAddressName(async (name) => {
      await using server = await startServer(echoOnce, name, 0);
      const port = portOf(server);
      assert.deepEqual(
        server.sockets.map((s) => s.getsockname()),
        [
          [HOST, port],
          ['::1', port],
        ],
      );
      await roundTrip(HOST, port);
      await roundTrip('::1', port);
      // AF_INET keeps to that family's address, as getaddrinfo's.
      await using v4 = await startServer(echoOnce, name, 0, { family: AF_INET });
      assert.deepEqual(
        v4.sockets.map((s) => s.getsockname()),
        [[HOST, portOf(v4)]],
      );
    });
  });

  test('one address of the name already taken: the call fails EADDRINUSE and releases the others', async () => {
    await withTwoAddressName(async (name) => {
      await using taken = await startServer(echoOnce, '::1', 0);
      const port = portOf(taken);
      await assert.rejects(startServer(echoOnce, name, port), { errnoName: 'EADDRINUSE' });
      // 127.0.0.1 was bound first, then closed with the failure: free to take.
      await using v4 = await startServer(echoOnce, HOST, port);
      await roundTrip(HOST, port);
      assert.equal(portOf(v4), port);
    });
  });

  test('a signal aborted while the name is looked up ends the call with its reason; nothing listens after the answer', async () => {
    let answer!: () => void;
    let looking!: () => void;
    const asked = new Promise<void>((r) => {
      looking = r;
    });
    const gate = {
      answer: new Promise<void>((r) => {
        answer = r;
      }),
      looking,
    };
    const servers = (): number =>
      process.getActiveResourcesInfo().filter((k) => k === 'TCPServerWrap').length;
    const before = servers();
    await withTwoAddressName(async (name) => {
      const ac = new AbortController();
      const reason = new Error('stop listening');
      const call = startServer(echoOnce, name, 0, { signal: ac.signal }).then(
        (s) => {
          s.close();
          return 'listening despite the abort';
        },
        (e: unknown) => e,
      );
      await asked;
      ac.abort(reason);
      // The answer comes after the abort: it must bind nothing.
      answer();
      assert.equal(await call, reason);
      for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
      assert.equal(servers(), before);
    }, gate);
  });

  test('a name that does not resolve is a gaierror, nothing bound', async () => {
    await assert.rejects(startServer(echoOnce, 'nowhere.weft.invalid', 0), gaierror);
  });
});

describe('happyEyeballsDelay', () => {
  test('connects with a delay; a bad delay rejects before connecting', async () => {
    await using server = await startServer(echoOnce, HOST, 0);
    await roundTrip('localhost', portOf(server), { happyEyeballsDelay: 250 });
    await roundTrip(HOST, portOf(server), { happyEyeballsDelay: 0 });
    await assert.rejects(openConnection(HOST, 1, { happyEyeballsDelay: -1 }), RangeError);
    await assert.rejects(openConnection(HOST, 1, { happyEyeballsDelay: Number.NaN }), RangeError);
    await assert.rejects(openConnection(HOST, 1, { happyEyeballsDelay: '1' as never }), TypeError);
  });
});
