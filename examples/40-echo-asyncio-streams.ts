/**
 * Lesson 40: the echo-uppercase server with asyncio streams, and its client with `await using`.
 */
import { run } from 'weft/asyncio';
import { openConnection, type StreamReader, type StreamWriter, startServer } from 'weft/streams';
import { defineLesson, runIfMain } from './lesson.js';

/** bytes.upper(): ASCII letters only, like Python's. */
function upper(data: Buffer): Buffer {
  const out = Buffer.from(data);
  for (let i = 0; i < out.length; i++) {
    const c = out[i] as number;
    if (c >= 97 && c <= 122) out[i] = c - 32;
  }
  return out;
}

async function handle(reader: StreamReader, writer: StreamWriter): Promise<void> {
  try {
    for (;;) {
      const data = await reader.read(1024);
      if (data.length === 0) break;
      writer.write(upper(data));
      await writer.drain();
    }
  } finally {
    writer.close();
  }
}

const lesson = defineLesson({
  title: 'Echo-uppercase server on asyncio streams, clients with await using',
  shows:
    'startServer() runs handle(reader, writer) as a task per connection; read() waits without ' +
    'blocking anyone else and drain() applies back pressure. The client is an async context ' +
    'manager: `await using` closes it and waits until it is closed, whatever happens.',
  module: 'asyncio streams',
  async main({ quick, log }) {
    await run(async () => {
      await using server = await startServer(handle, '127.0.0.1', 0);
      const [host, port] = server.sockets[0]!.getsockname() as [string, number];
      log(`Serving on ${host}:${port}`);
      const clients = quick ? 3 : 10;
      const answers = await Promise.all(
        Array.from({ length: clients }, async (_, i) => {
          const [reader, writer] = await openConnection(host, port);
          await using _closer = writer;
          writer.write(`hello from client ${i}\n`);
          await writer.drain();
          return (await reader.readline()).toString().trimEnd();
        }),
      );
      for (const a of answers) log(`  ${a}`);
      log(
        `${clients} clients served concurrently by one thread; every writer closed by await using.`,
      );
    });
  },
});
export default lesson;

await runIfMain(import.meta, lesson);
