// The echo servers of `weft serve` in every model, driven by `weft load`'s generator.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CliError } from '../../src/cli/command.js';
import { runEchoLoad } from '../../src/cli/load.js';
import { MODELS } from '../../src/cli/serve.js';
import { createConnection, RawSocket } from '../../src/socket/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks({ graceMs: 3000 });

describe('weft serve echo + weft load echo', () => {
  for (const [name, model] of Object.entries(MODELS)) {
    if (name === 'epoll' && !RawSocket.native) continue; // needs the weft_io addon
    test(`the ${name} model answers closed-loop connections with no error`, async () => {
      const running = await model.start('127.0.0.1', 0);
      try {
        // A process per connection: each connection waits for its child to start (a fresh
        // Node process), so fewer connections. The warm-up has every connection answered once
        // before the window opens (runEchoLoad), so no model needs a long window; the window
        // ends at the generator's first progress tick (500 ms) at the earliest, and every
        // closed-loop round trip in it burns CPU on both ends.
        const perProcess = name === 'process';
        const r = await runEchoLoad({
          host: '127.0.0.1',
          port: running.port,
          conns: perProcess ? 4 : 30,
          seconds: 0.4,
          size: 64,
        });
        assert.equal(r.errors, 0);
        assert.ok(r.requests > 0);
        assert.ok(r.p50Us <= r.p99Us && r.p99Us <= r.maxUs);
        // 1 KiB messages arrive in pieces and are answered whole.
        using c = await createConnection(['127.0.0.1', running.port]);
        const msg = 'abcdefghij'.repeat(300);
        await c.sendall(msg);
        let got = '';
        while (got.length < msg.length) got += (await c.recv(4096)).toString();
        assert.equal(got, msg.toUpperCase());
      } finally {
        await running.close();
      }
    });
  }

  test('load against a port nobody listens on fails with a CliError', async () => {
    const running = await MODELS.node!.start('127.0.0.1', 0);
    const port = running.port;
    await running.close();
    await assert.rejects(
      runEchoLoad({ host: '127.0.0.1', port, conns: 2, seconds: 0.1, size: 8 }),
      CliError,
    );
  });
});
