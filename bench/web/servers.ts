/**
 * The HTTP servers of bench/web/http.bench.ts, one per process:
 *
 *   node --import tsx bench/web/servers.ts IMPL MODE PORT [FILE]
 *
 * IMPL: weft | weft-pipe (FileResponse with the stream pipe instead of sendfile) | http (Node's
 * bare server: the engine under weft, the limit) | fastify. MODE: hello (GET / → "hello"),
 * route (GET /{id} → the id), gzip (GET /gzip → GZIP_TEXT, gzipped for a client that takes it),
 * file (GET /file → FILE). Each answers like the aiohttp peers: text/plain, no access log.
 */
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { gzipSync } from 'node:zlib';
import { _usePipeOnly } from '../../src/web/file-sender.js';
import { Application, FileResponse, Response, runApp } from '../../src/web/index.js';

const [impl, mode, portArg, file] = process.argv.slice(2);
const port = Number(portArg);
const TEXT = 'text/plain; charset=utf-8';
/** The same 8 KiB as aiohttp_gzip.py's. */
const GZIP_TEXT = Array.from({ length: 400 }, (_, i) => `line ${i} of the body\n`).join('');

if (impl === 'weft' || impl === 'weft-pipe') {
  if (impl === 'weft-pipe') _usePipeOnly(true);
  const app = new Application();
  if (mode === 'hello') app.router.addGet('/', async () => new Response({ text: 'hello' }));
  else if (mode === 'route') {
    app.router.addGet('/{id}', async (r) => new Response({ text: r.matchInfo.id as string }));
  } else if (mode === 'gzip') {
    app.router.addGet('/gzip', async () => {
      const resp = new Response({ text: GZIP_TEXT });
      resp.enableCompression();
      return resp;
    });
  } else app.router.addGet('/file', async () => new FileResponse(file as string));
  await runApp(app, { host: '127.0.0.1', port });
} else if (impl === 'http') {
  const server = createServer((req, res) => {
    if (mode === 'file') {
      const size = statSync(file as string).size;
      res.writeHead(200, [
        'content-type',
        'application/octet-stream',
        'content-length',
        String(size),
      ]);
      createReadStream(file as string, { highWaterMark: 256 * 1024 }).pipe(res);
      return;
    }
    if (mode === 'gzip') {
      // The least a server can do: the coding read from the header, the body gzipped.
      const gz = /\bgzip\b/.test(req.headers['accept-encoding'] ?? '');
      const body = gz ? gzipSync(GZIP_TEXT) : GZIP_TEXT;
      const head = ['content-type', TEXT, 'content-length', String(Buffer.byteLength(body))];
      if (gz) head.push('content-encoding', 'gzip', 'vary', 'Accept-Encoding');
      res.writeHead(200, head);
      res.end(body);
      return;
    }
    const body = mode === 'hello' ? 'hello' : (req.url as string).slice(1);
    res.writeHead(200, ['content-type', TEXT, 'content-length', String(Buffer.byteLength(body))]);
    res.end(body);
  });
  server.listen({ host: '127.0.0.1', port, backlog: 1024 });
  process.once('SIGTERM', () => server.close(() => process.exit(0)));
} else if (impl === 'fastify') {
  const { default: Fastify } = await import('fastify');
  const f = Fastify({ logger: false });
  if (mode === 'hello') f.get('/', async (_req, reply) => reply.type(TEXT).send('hello'));
  else
    f.get('/:id', async (req, reply) => reply.type(TEXT).send((req.params as { id: string }).id));
  await f.listen({ host: '127.0.0.1', port, backlog: 1024 });
  process.once('SIGTERM', () => void f.close().then(() => process.exit(0)));
} else {
  process.stderr.write(`unknown server ${impl}\n`);
  process.exit(2);
}
