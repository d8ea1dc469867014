/**
 * Lesson 45: the seeds' client that hammers the server with 100 to 1000 concurrent clients —
 * tasks instead of threads, each an `await using` connection.
 */
import { createTask, run, Semaphore } from 'weft/asyncio';
import { openConnection, type StreamReader, type StreamWriter, startServer } from 'weft/streams';
import { defineLesson, runIfMain } from './lesson.js';

function upper(data: Buffer): Buffer {
  const out = Buffer.from(data);
  for (let i = 0; i < out.length; i++) {
    const c = out[i] as number;
    if (c >= 97 && c <= 122) out[i] = c - 32;
  }
  return out;
}

async function echo(reader: StreamReader, writer: StreamWriter): Promise<void> {
  try {
    for (let d = await reader.read(1024); d.length > 0; d = await reader.read(1024)) {
      writer.write(upper(d));
      await writer.drain();
    }
  } finally {
    writer.close();
  }
}

async function client(port: number, id: number, messages: number): Promise<number> {
  const [reader, writer] = await openConnection('127.0.0.1', port);
  await using _ = writer; // async with: closed and waited for on every exit path
  let ok = 0;
  for (let m = 0; m < messages; m++) {
    const msg = `client ${id} message ${m}`;
    writer.write(msg);
    await writer.drain();
    const reply = (await reader.readexactly(msg.length)).toString();
    if (reply === msg.toUpperCase()) ok++;
  }
  return ok;
}

const lesson = defineLesson({
  title: '100 to 1000 concurrent clients against one echo server, as tasks',
  shows:
    'The classic Python version starts a thread per client; here each client is a task, so ' +
    '1000 of them cost a few kilobytes each instead of a thread stack. A Semaphore caps how ' +
    'many connect at once.',
  module: 'asyncio streams',
  async main({ quick, log }) {
    await run(async () => {
      await using server = await startServer(echo, '127.0.0.1', 0, { backlog: 1024 });
      const [, port] = server.sockets[0]!.getsockname() as [string, number];
      for (const n of quick ? [100] : [100, 1000]) {
        const messages = quick ? 5 : 20;
        const gate = new Semaphore(256); // connects in flight, so the accept backlog never overflows
        const t0 = performance.now();
        const tasks = Array.from({ length: n }, (_, i) =>
          createTask(async () => {
            await gate.acquire();
            try {
              return await client(port, i, messages);
            } finally {
              gate.release();
            }
          }),
        );
        const oks = await Promise.all(tasks);
        const ms = performance.now() - t0;
        const total = oks.reduce((a, b) => a + b, 0);
        log(
          `${n} clients × ${messages} messages: ${total}/${n * messages} correct replies in ${ms.toFixed(0)} ms`,
        );
      }
    });
  },
});
export default lesson;

await runIfMain(import.meta, lesson);
