"""aiohttp FileResponse server for bench/web/http.bench.ts: GET /file -> web.FileResponse(FILE).

usage: python3 aiohttp_file.py PORT FILE     (Debian python3-aiohttp; sendfile where possible)
"""
import sys

from aiohttp import web


async def send(request: web.Request) -> web.FileResponse:
    return web.FileResponse(sys.argv[2])


if __name__ == "__main__":
    app = web.Application()
    app.router.add_get("/file", send)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
