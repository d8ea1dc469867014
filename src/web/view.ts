/**
 * View: a class-based handler (aiohttp's `web.View`). One instance per request; the method
 * named after the request's method, lower-cased (`get`, `post`, `delete`, …), answers it, and a
 * method the class does not define is 405 with `Allow` listing those it does.
 *
 *   class Users extends View {
 *     async get() { return jsonResponse(await list(this.request.query)); }
 *     async post() { return jsonResponse(await create(await this.request.json()), { status: 201 }); }
 *   }
 *   app.router.addView('/users', Users);     // or routes.view('/users')(Users)
 */
import { HTTPMethodNotAllowed } from './http-exceptions.js';
import type { Request } from './request.js';
import type { Handler } from './resource.js';
import type { StreamResponse } from './stream-response.js';

/** The methods a View may answer (aiohttp's `hdrs.METH_ALL`). */
const VIEW_METHODS = [
  'CONNECT',
  'HEAD',
  'GET',
  'DELETE',
  'OPTIONS',
  'PATCH',
  'POST',
  'PUT',
  'TRACE',
];

type ViewMethod = () => StreamResponse | Promise<StreamResponse>;

export class View {
  readonly request: Request;

  constructor(request: Request) {
    this.request = request;
  }
}

/** A class extending View, as `addView` and `routes.view` take it. */
export type ViewClass = new (request: Request) => View;

/** Whether `x` is a View class (not an instance, not a plain function). */
export function isViewClass(x: unknown): x is ViewClass {
  return typeof x === 'function' && x.prototype instanceof View;
}

/**
 * @internal The handler that serves `cls`: a new instance per request, then its method.
 * @throws {HTTPMethodNotAllowed} the class has no method for the request's (405).
 */
export function viewHandler(cls: ViewClass): Handler {
  return (request) => {
    const view = new cls(request) as unknown as Record<string, unknown>;
    const method = request.method;
    const fn = VIEW_METHODS.includes(method) ? view[method.toLowerCase()] : undefined;
    if (typeof fn !== 'function') {
      throw new HTTPMethodNotAllowed(
        method,
        VIEW_METHODS.filter((m) => typeof view[m.toLowerCase()] === 'function'),
      );
    }
    return (fn as ViewMethod).call(view);
  };
}
