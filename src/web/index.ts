/** What the server's writes and reads raise once the client went away (aiohttp: the builtin). */
export { ConnectionResetError } from '../socket/errors.js';
export { AppRunner, type AppRunnerOptions } from './app-runner.js';
export {
  type AppHook,
  Application,
  type ApplicationOptions,
  type CleanupContext,
  type Middleware,
} from './application.js';
export { ClientResponse } from './client-response.js';
export {
  ClientSession,
  type ClientSessionOptions,
  type ClientTimeout,
  type RequestData,
  type RequestOptions,
} from './client-session.js';
export { ClientWebSocketResponse } from './client-web-socket.js';
export { ContentCoding } from './content-coding.js';
export { type Cookie, CookieJar, type CookieJarOptions } from './cookie-jar.js';
export * from './errors.js';
export { FileResponse, type FileResponseOptions } from './file-response.js';
export * from './http-exceptions.js';
export type { ServerOptions } from './http-server.js';
export { type MatchInfo, Request } from './request.js';
export { type Handler, Resource, type UrlForOptions } from './resource.js';
export { jsonResponse, Response, type ResponseOptions } from './response.js';
export {
  AbstractRouteDef,
  deleteRoute as delete,
  get,
  head,
  options,
  patch,
  post,
  put,
  type RouteDecorator,
  type RouteDecoratorContext,
  RouteDef,
  type RouteDefOptions,
  type RouteHandler,
  RouteTableDef,
  route,
  StaticDef,
  staticRoute as static,
  type ViewDecorator,
  view,
} from './route-table-def.js';
export { type RunAppOptions, runApp } from './run-app.js';
export { type StaticOptions, StaticResource } from './static-resource.js';
export {
  type CookieOptions,
  StreamResponse,
  type StreamResponseOptions,
} from './stream-response.js';
export { TCPSite, type TCPSiteOptions } from './tcp-site.js';
export { type GetRouteOptions, type RouteOptions, UrlDispatcher } from './url-dispatcher.js';
export { View, type ViewClass } from './view.js';
export {
  WebSocketResponse,
  type WebSocketResponseOptions,
  type WSMessage,
  WSMsgType,
} from './web-socket-response.js';
export type { ReceiveOptions } from './ws-channel.js';
export type { WSConnectOptions } from './ws-connect.js';
