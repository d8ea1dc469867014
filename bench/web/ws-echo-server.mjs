// The neutral peer of ws.bench.ts: a WebSocket echo server on the `ws` package alone (neither
// client's own stack), so weft's client and aiohttp's talk to the same server.
// Usage: node ws-echo-server.mjs <port>
import { WebSocketServer } from 'ws';

const wss = new WebSocketServer({ host: '127.0.0.1', port: Number(process.argv[2]) });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
process.on('SIGTERM', () => {
  for (const c of wss.clients) c.terminate();
  wss.close(() => process.exit(0));
});
