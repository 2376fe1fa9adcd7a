"""``/static/...``: the UI's own script for plots and the vendored charting library, from the package.

uPlot (MIT, https://github.com/leeoniya/uPlot) is vendored as its npm package ``uplot`` ships it
(``dist/uPlot.iife.min.js``, ``dist/uPlot.min.css``; version and checksums in ``static/VENDOR.md``):
no CDN, no build step. Only the files named in :data:`ASSETS` are served.
"""

from __future__ import annotations

import functools
from importlib import resources

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

ASSETS = {
    "uPlot.iife.min.js": "text/javascript",
    "uPlot.min.css": "text/css",
    "uPlot.LICENSE": "text/plain",
    "plots.js": "text/javascript",
    "plots.css": "text/css",
    "compare.js": "text/javascript",
}
#: What a page that draws plots puts in its head (after the page's own style sheet).
HEAD = (
    "<link rel='stylesheet' href='/static/uPlot.min.css'><link rel='stylesheet' href='/static/plots.css'>"
    "<script src='/static/uPlot.iife.min.js'></script><script src='/static/plots.js'></script>"
)


@functools.cache
def asset(name: str) -> bytes:
    return resources.files("labdcs.experiments").joinpath("static", name).read_bytes()


def router() -> APIRouter:
    static = APIRouter(include_in_schema=False)

    @static.get("/static/{name}")
    def get(name: str) -> Response:
        if name not in ASSETS:
            raise HTTPException(404, f"no file {name!r} here")
        return Response(asset(name), media_type=ASSETS[name], headers={"Cache-Control": "max-age=3600"})

    return static
