import assert from 'node:assert/strict';
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

  test('reusePort: two servers share one port where Node can set it, a RangeError where not', async () => {
    if (!netHasReusePort()) {
      await assert.rejects(
        startServer(echoOnce, HOST, 0, { reusePort: true }),
        (e: unknown) => e instanceof RangeError && /22\.12/.test(e.message),
      );
      return;
    }
    await using a = await startServer(echoOnce, HOST, 0, { reusePort: true });
    await using b = await startServer(echoOnce, HOST, portOf(a), { reusePort: true });
    assert.equal(portOf(b), portOf(a));
    await roundTrip(HOST, portOf(a));
    // Without it, the port is taken.
    await assert.rejects(startServer(echoOnce, HOST, portOf(a)), { errnoName: 'EADDRINUSE' });
  });

  test("reusePort with transport 'raw' is a RangeError (weft's descriptor cannot set it)", async () => {
    await assert.rejects(
      startServer(echoOnce, HOST, 0, { reusePort: true, transport: 'raw' }),
      RangeError,
    );
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
