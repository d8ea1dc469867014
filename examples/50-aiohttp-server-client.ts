/**
 * Lesson 50: an aiohttp-style web server and client.
 *
 * The seeds end their asyncio chapter with aiohttp: an Application whose router maps `/` and
 * `/{id}` to async handlers that read `request.matchInfo` and `request.queryString` and return
 * `Response(text, status)`, served by `run_app`; and a `ClientSession`, used with `async with`,
 * that fetches pages and reads their status and text. Here the server runs on loopback inside
 * the lesson, and the client talks to it.
 */
import { Application, ClientSession, type Request, Response, runApp } from 'weft/web';
import { defineLesson, runIfMain } from './lesson.js';

/** `/`: answers the path it was asked for, with status 201 (and the query string, if any). */
async function handleRoot(request: Request): Promise<Response> {
  const qs = request.queryString ? `?${request.queryString}` : '';
  return new Response({ text: `You asked for ${request.path}${qs}`, status: 201 });
}

/** `/{id}`: answers the id from the path (aiohttp's `match_info.get('id', '0000')`). */
async function handleId(request: Request): Promise<Response> {
  const id = request.matchInfo.id ?? '0000';
  return new Response({ text: `Item ${id}` });
}

const lesson = defineLesson({
  title: 'An aiohttp-style server and a ClientSession talking to it',
  shows:
    'An Application routes / and /{id} to async handlers that read matchInfo and queryString; ' +
    'runApp serves it on 127.0.0.1, and a ClientSession (closed by await using) fetches pages ' +
    'and reads their status and text. Each handler runs as a weft task.',
  module: 'aiohttp',
  async main({ quick, log }) {
    const app = new Application();
    app.router.addGet('/', handleRoot);
    app.router.addGet('/{id}', handleId);

    const stop = new AbortController();
    let baseUrl = '';
    const serving = runApp(app, {
      host: '127.0.0.1',
      port: 0, // any free port: the lesson reads the real one from the site
      signal: stop.signal,
      handleSignals: false,
      print: (line) => log(line.split('\n')[0]),
      onReady: (site) => {
        baseUrl = site.name;
      },
    });
    while (baseUrl === '') await new Promise((r) => setTimeout(r, 5));

    {
      // `async with aiohttp.ClientSession() as session:` — closed when the block ends.
      await using session = new ClientSession({ baseUrl });
      const paths = quick
        ? ['/', '/?lang=en', '/42']
        : ['/', '/?lang=en', '/42', '/1234', '/nope/x'];
      for (const path of paths) {
        await using resp = await session.get(path);
        log(`GET ${path.padEnd(10)} -> ${resp.status} ${JSON.stringify(await resp.text())}`);
      }
    }
    log('Stopping the server: in-flight requests finish, cleanup hooks run.');
    stop.abort();
    await serving;
    log('Server stopped.');
  },
});
export default lesson;

await runIfMain(import.meta, lesson);
