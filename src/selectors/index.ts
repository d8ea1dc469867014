export { RuntimeError } from '../internal/errors.js';
export { DefaultSelector, type SelectOptions } from './default-selector.js';
export { EpollSelector } from './epoll-selector.js';
export { KeyError } from './errors.js';
export { EVENT_READ, EVENT_WRITE, SelectorKey, SelectorMapping } from './selector-key.js';
