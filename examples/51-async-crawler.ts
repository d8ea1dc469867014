/**
 * Lesson 51: a concurrent crawler — fetch with a concurrency limit, parse in a done callback.
 *
 * The seeds crawl a site with a thread pool and parse each page in the future's callback. The
 * async form: each page is fetched by a task, at most LIMIT at a time (a Semaphore); as each
 * fetch finishes its done callback parses the page for links; `asCompleted` hands the pages
 * over in the order they arrive. The site is served by the lesson itself on 127.0.0.1, with a
 * different delay per page so that completion order differs from start order.
 */
import { asCompleted, createTask, type Future, Semaphore, sleep } from 'weft/asyncio';
import { Application, ClientSession, Response, runApp } from 'weft/web';
import { defineLesson, runIfMain } from './lesson.js';

interface Page {
  url: string;
  status: number;
  html: string;
}

/** A little site: page n links to 2n and 2n+1 (a binary tree), each page slower or faster. */
function site(pages: number, delay: number): Application {
  const app = new Application();
  app.router.addGet('/page/{n:\\d+}', async (request) => {
    const n = Number(request.matchInfo.n);
    if (n < 1 || n > pages) return new Response({ status: 404, text: 'no such page' });
    await sleep(delay * (1 + ((n * 7) % 4)));
    const links = [2 * n, 2 * n + 1].filter((k) => k <= pages);
    const body = links.map((k) => `<a href="/page/${k}">page ${k}</a>`).join(' ');
    return new Response({ text: `<h1>Page ${n}</h1>${body}`, contentType: 'text/html' });
  });
  return app;
}

const lesson = defineLesson({
  title: 'A concurrent crawler: Semaphore limit, asCompleted, parsing in done callbacks',
  shows:
    "Pages are fetched by tasks, at most LIMIT at a time through a Semaphore; each task's done " +
    'callback parses its page for links (as the classic thread-pool crawler parses in the ' +
    "future's callback), and asCompleted reports pages as they finish. The crawl goes round " +
    'by round until no new link is found.',
  module: 'aiohttp',
  async main({ quick, log }) {
    const pages = quick ? 7 : 15;
    const limit = 3;
    const stop = new AbortController();
    let base = '';
    const serving = runApp(site(pages, quick ? 5 : 20), {
      port: 0,
      signal: stop.signal,
      handleSignals: false,
      onReady: (s) => {
        base = s.name;
      },
    });
    while (base === '') await sleep(5);

    const semaphore = new Semaphore(limit);
    const seen = new Set<string>(['/page/1']);
    let frontier = ['/page/1'];
    let inFlight = 0;
    let peak = 0;
    const found: string[] = [];

    /** The done callback: runs when a fetch task finishes, and parses its page for links. */
    const parse = (task: Future<Page>): void => {
      if (task.cancelled() || task.exception()) return;
      const page = task.result();
      for (const m of page.html.matchAll(/href="([^"]+)"/g)) {
        const link = m[1] as string;
        if (!seen.has(link)) {
          seen.add(link);
          found.push(link);
        }
      }
    };

    {
      await using session = new ClientSession({ baseUrl: base, limit: 10 });
      const fetchPage = async (url: string): Promise<Page> => {
        await using _slot = await semaphore.hold();
        inFlight++;
        peak = Math.max(peak, inFlight);
        try {
          await using resp = await session.get(url);
          return { url, status: resp.status, html: await resp.text() };
        } finally {
          inFlight--;
        }
      };
      for (let round = 1; frontier.length > 0; round++) {
        log(`round ${round}: fetching ${frontier.join(', ')}`);
        const tasks = frontier.map((url) => {
          const t = createTask(() => fetchPage(url), { name: url });
          t.addDoneCallback(parse);
          return t;
        });
        for await (const page of asCompleted(tasks)) {
          log(`  done ${page.url.padEnd(9)} ${page.status} (${page.html.length} bytes)`);
        }
        // Let the done callbacks of the last pages run before reading what they found.
        await sleep(0);
        frontier = found.splice(0);
      }
    }
    log(`Crawled ${seen.size} pages; at most ${peak} fetches ran at once (limit ${limit}).`);
    stop.abort();
    await serving;
  },
});
export default lesson;

await runIfMain(import.meta, lesson);
