/**
 * The whole subprocess suite (subprocess.test.ts) again, with every child started by Node's
 * `child_process.spawn`: the path taken without the spawn addon (no compiler, not Linux,
 * WEFT_NO_NATIVE=1), and for the stdio targets the addon leaves to it.
 */
import { _allowNativeSpawn } from '../../src/asyncio/subprocess.js';

_allowNativeSpawn(false);
await import('./subprocess.test.js');
