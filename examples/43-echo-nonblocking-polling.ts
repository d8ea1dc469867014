/**
 * Lesson 43: non-blocking polling — the echo server that asks every socket "anything yet?" in
 * a loop, and the CPU it burns doing so.
 */
import { sleep } from 'weft/asyncio';
import { BlockingIOError, createConnection, Socket } from 'weft/socket';
import { defineLesson, runIfMain } from './lesson.js';

function upper(data: Buffer): Buffer {
  const out = Buffer.from(data);
  for (let i = 0; i < out.length; i++) {
    const c = out[i] as number;
    if (c >= 97 && c <= 122) out[i] = c - 32;
  }
  return out;
}

const lesson = defineLesson({
  title: 'Non-blocking polling: an echo server that spins, and what it costs',
  shows:
    'With setblocking(false) nothing waits, so a server can poll every socket in a loop. It ' +
    'works, but it spins the CPU even when nobody sends anything: compare the CPU time of the ' +
    'polling loop with the wall time it ran (a selector would sleep instead).',
  module: 'socket',
  async main({ quick, log }) {
    const srv = new Socket();
    srv.bind(['127.0.0.1', 0]);
    await srv.listen();
    srv.setblocking(false);
    const [, port] = srv.getsockname() as [string, number];
    const conns: Socket[] = [];
    let stop = false;
    let polls = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const server = (async () => {
      while (!stop) {
        polls++;
        try {
          const [c] = srv.acceptNowait();
          c.setblocking(false);
          conns.push(c);
        } catch (e) {
          if (!(e instanceof BlockingIOError)) throw e;
        }
        for (const c of [...conns]) {
          try {
            const data = c.recvNowait(1024);
            if (data.length === 0) {
              c.close();
              conns.splice(conns.indexOf(c), 1);
            } else c.sendNowait(upper(data));
          } catch (e) {
            if (!(e instanceof BlockingIOError)) throw e;
          }
        }
        // Yield to Node's event loop so sockets can make progress: the busy loop's "sleep(0)".
        await new Promise<void>((r) => setImmediate(r));
      }
    })();
    const idleMs = quick ? 300 : 2000;
    const clients = quick ? 3 : 10;
    for (let i = 0; i < clients; i++) {
      using c = await createConnection(['127.0.0.1', port]);
      await c.sendall(`poll me ${i}`);
      log(`  ${(await c.recv(1024)).toString()}`);
    }
    log(`Now nobody sends anything for ${idleMs} ms…`);
    await sleep(idleMs);
    stop = true;
    await server;
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    log(`${polls} polls in ${wall.toFixed(0)} ms of wall time used ${cpuMs.toFixed(0)} ms of CPU`);
    log(
      `(${((100 * cpuMs) / wall).toFixed(0)}% of a core) — mostly asking idle sockets for nothing.`,
    );
    for (const c of conns) c.close();
    srv.close();
  },
});
export default lesson;

await runIfMain(import.meta, lesson);
