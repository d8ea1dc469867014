export {
  type SendfileFile,
  type SendfileOptions,
  type SendfileSocket,
  sendfile,
} from './sendfile.js';
