"""aiohttp server for bench/web/http.bench.ts's compressed scenario: GET /gzip -> 8 KiB of text,
web.Response(text=...) with enable_compression() (gzip for wrk's Accept-Encoding: gzip).

usage: python3 aiohttp_gzip.py PORT [--uvloop]     (Debian python3-aiohttp 3.8.4)
"""
import sys

from aiohttp import web

TEXT = "".join(f"line {i} of the body\n" for i in range(400))


async def gzipped(request: web.Request) -> web.Response:
    resp = web.Response(text=TEXT)
    resp.enable_compression()
    return resp


if __name__ == "__main__":
    if "--uvloop" in sys.argv:
        import uvloop

        uvloop.install()
    app = web.Application()
    app.router.add_get("/gzip", gzipped)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None, backlog=1024)
