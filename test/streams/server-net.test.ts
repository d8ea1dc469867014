// The server suite again on Node's net transport (server.test.ts runs on the default one, which
// is the raw transport where the weft_io addon is built).
process.env.WEFT_STREAMS_TRANSPORT = 'net';
await import('./server.test.js');
