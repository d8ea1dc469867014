/**
 * Application lifecycle against aiohttp 3.8: the order of hooks, middlewares and cleanup
 * contexts, checked with the same program on both sides.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Application, type Middleware } from '../../src/web/application.js';
import { Response } from '../../src/web/response.js';
import { checkLeaks } from '../support/leaks.js';
import { serve } from './loopback.js';

checkLeaks();

describe('sub-application hooks', () => {
  /** aiohttp's check program; `mountFirst` mounts before the parent's hooks are added. */
  async function run(mountFirst: boolean): Promise<string[]> {
    const log: string[] = [];
    const mw =
      (name: string): Middleware =>
      async (request, handler) => {
        log.push(`${name}>`);
        const r = await handler(request);
        log.push(`<${name}`);
        return r;
      };
    const handler = (): Response => {
      log.push('handler');
      return new Response({ text: 'x' });
    };
    const app = new Application({ middlewares: [mw('A'), mw('B')] });
    const sub = new Application({ middlewares: [mw('S')] });
    sub.router.addGet('/s', handler);
    app.router.addGet('/', handler);
    // aiohttp freezes a sub-application's hooks when it is mounted: they come first.
    sub.cleanupCtx.push(async function* () {
      log.push('subctx start');
      yield;
      log.push('subctx end');
    });
    sub.onStartup.push(() => void log.push('sub startup'));
    sub.onShutdown.push(() => void log.push('sub shutdown'));
    sub.onCleanup.push(() => void log.push('sub cleanup'));
    if (mountFirst) app.addSubapp('/sub', sub);
    app.cleanupCtx.push(async function* () {
      log.push('ctx start');
      yield;
      log.push('ctx end');
    });
    app.onStartup.push(() => void log.push('startup'));
    app.onShutdown.push(() => void log.push('shutdown'));
    app.onCleanup.push(() => void log.push('cleanup'));
    if (!mountFirst) app.addSubapp('/sub', sub);
    {
      await using s = await serve(app);
      for (const p of ['/', '/sub/s']) await (await fetch(`${s.url}${p}`)).text();
    }
    return log;
  }

  const requests = [
    'A>',
    'B>',
    'handler',
    '<B',
    '<A',
    'A>',
    'B>',
    'S>',
    'handler',
    '<S',
    '<B',
    '<A',
  ];

  it('run where addSubapp was called among the parent hooks: mounted last', async () => {
    // aiohttp 3.8's log for the same program.
    assert.deepEqual(await run(false), [
      'ctx start',
      'startup',
      'subctx start',
      'sub startup',
      ...requests,
      'shutdown',
      'sub shutdown',
      'ctx end',
      'cleanup',
      'subctx end',
      'sub cleanup',
    ]);
  });

  it('run where addSubapp was called among the parent hooks: mounted first', async () => {
    // aiohttp 3.8: the cleanup context is the parent's first hook, then the sub-application's.
    assert.deepEqual(await run(true), [
      'ctx start',
      'subctx start',
      'sub startup',
      'startup',
      ...requests,
      'sub shutdown',
      'shutdown',
      'ctx end',
      'subctx end',
      'sub cleanup',
      'cleanup',
    ]);
  });
});
