"""``/docs``: Swagger UI served from the installed package ``swagger-ui-py`` (Apache-2.0), not a CDN.

FastAPI's default page loads Swagger UI from a CDN into the logged-in origin (whoever controls the
CDN's file controls the admin's session) and starts it with an inline script. Here the page, its
start script (:data:`START`) and Swagger UI's files all come from this service, under the same
Content-Security-Policy as every other answer. (``swagger-ui-bundle`` ships Swagger UI 4, which cannot
show the OpenAPI 3.1 document FastAPI writes; ``swagger-ui-py`` ships Swagger UI 5.)
"""

from __future__ import annotations

import functools
from importlib import resources
from importlib.resources.abc import Traversable

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse, Response

#: Swagger UI's files the page uses (nothing else from the package's folder is served).
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}

#: Swagger UI on this service's OpenAPI document (a file, not inline: the CSP allows no inline script).
START = """window.addEventListener('load', () => {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json', dom_id: '#swagger-ui', layout: 'BaseLayout', deepLinking: true,
    showExtensions: true, showCommonExtensions: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  });
});
"""

PAGE = (
    "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
    "<title>labdcs battery experiments - API</title>"
    "<link rel='stylesheet' href='/docs/assets/swagger-ui.css'>"
    "<link rel='icon' type='image/png' href='/docs/assets/favicon-32x32.png'></head>"
    "<body><div id='swagger-ui'></div><script src='/docs/assets/swagger-ui-bundle.js'></script>"
    "<script src='/docs/docs.js'></script></body></html>"
)


def swagger_ui_folder() -> Traversable:
    """The folder of Swagger UI's distribution inside the installed ``swagger-ui-py``."""
    return resources.files("swagger_ui").joinpath("static")


@functools.cache
def _asset(name: str) -> bytes:
    return swagger_ui_folder().joinpath(name).read_bytes()


def router() -> APIRouter:
    docs = APIRouter(include_in_schema=False)

    @docs.get("/docs", response_class=HTMLResponse)
    def page() -> HTMLResponse:
        return HTMLResponse(PAGE)

    @docs.get("/docs/docs.js")
    def start_script() -> Response:
        return Response(START, media_type="text/javascript")

    @docs.get("/docs/assets/{name}")
    def asset(name: str) -> Response:
        if name not in ASSETS:
            raise HTTPException(404, f"no Swagger UI file {name!r} here")
        return Response(_asset(name), media_type=ASSETS[name], headers={"Cache-Control": "max-age=86400"})

    return docs
