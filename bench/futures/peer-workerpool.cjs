// The same trivial task for workerpool (a worker script registering its methods).
const workerpool = require('workerpool');
workerpool.worker({ inc: (x) => x + 1 });
