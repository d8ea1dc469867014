/**
 * `weft serve echo --model <model> --port N`: its options and their checks. The servers
 * themselves are in serve.ts, imported by the action once the options are found good: serve.ts
 * loads weft's asyncio, gevent, multiprocessing, selectors, socket and streams, which `weft
 * --help` or a mistyped `--port` need not wait for.
 */
import { type CliCommand, CliError } from './command.js';
import { hostOption, integerOption } from './option-values.js';

/** The IO models of `--model`, in the order the help lists them (serve.ts's MODELS has each). */
export const MODEL_NAMES = [
  'streams',
  'sockets',
  'selectors',
  'greenlets',
  'process',
  'polling',
  'epoll',
  'node',
] as const;

export type ModelName = (typeof MODEL_NAMES)[number];

/** Tuning: the most processes `--workers` may fork (a typo of a zero too many would fork
 * thousands). */
const MAX_WORKERS = 1024;

const isModelName = (name: string): name is ModelName =>
  (MODEL_NAMES as readonly string[]).includes(name);

export const serveCommand: CliCommand = {
  register(program, context) {
    program
      .command('serve')
      .description('run the echo-uppercase server in one of the IO models (until Ctrl-C)')
      .argument('<what>', 'the server to run: echo')
      .option('--model <model>', `one of: ${MODEL_NAMES.join(', ')}`, 'streams')
      .option('--host <host>', 'address to listen on', '127.0.0.1')
      .option('--port <port>', 'port (0 picks a free one)', '8888')
      .option('--workers <n>', 'worker processes sharing the port (streams model)', '1')
      .action(
        async (
          what: string,
          opts: { model: string; host: string; port: string; workers: string },
        ) => {
          if (what !== 'echo')
            throw new CliError(`weft serve: unknown server "${what}" (try: echo)`);
          // A list, not a look-up in MODELS: `--model constructor` is no model either.
          const model = opts.model;
          if (!isModelName(model)) {
            throw new CliError(
              `weft serve: unknown model "${model}" (one of: ${MODEL_NAMES.join(', ')})`,
            );
          }
          const host = hostOption('weft serve', opts.host, '127.0.0.1');
          const port = integerOption('weft serve', 'port', opts.port, 0, 65535, '0-65535');
          const workers = integerOption('weft serve', 'workers', opts.workers, 1, MAX_WORKERS);
          if (workers > 1 && model !== 'streams') {
            throw new CliError(
              `weft serve: --workers ${workers} needs --model streams, the one model that serves ` +
                `from several processes: received --model ${model}`,
            );
          }
          const { serveEcho } = await import('./serve.js');
          await serveEcho({ model, host, port, workers }, context);
        },
      );
  },
};
