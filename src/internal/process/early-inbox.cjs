// Loaded with `--require` into every weft child (spawn.ts), before tsx and before any module of
// the child's own: Node drops an IPC message that arrives while nothing listens, and a child's
// ES modules load asynchronously, while the event loop already reads the channel. Listening
// from the first synchronous moment lets the parent send the boot message at fork, with no
// hello round trip, so a parent that blocks right after `start()` (a `getSync()`, which stops
// its event loop) has already sent its child what it runs. channel.ts takes over the messages.
// Plain CommonJS: it runs before any loader, and tsc copies it to dist (allowJs).
'use strict';

// Only in the child weft forked: the variable goes at once, since a process this child forks
// in its turn inherits --require with the rest of execArgv, and a 'message' listener there
// would keep its channel, and so that process, alive for ever.
const mine = process.env.WEFT_EARLY_INBOX === '1';
delete process.env.WEFT_EARLY_INBOX;

if (mine && typeof process.send === 'function') {
  const inbox = [];
  const keep = (m) => {
    inbox.push(m);
  };
  process.on('message', keep);
  globalThis[Symbol.for('weft.earlyInbox')] = {
    /** Stops listening and hands over what came so far, in order. */
    take() {
      process.off('message', keep);
      return inbox.splice(0);
    },
  };
}
