export { Future } from './future.js';
export { sleep } from './sleep.js';
export { allTasks, createTask, currentTask, Task } from './task.js';
