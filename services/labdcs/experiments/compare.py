# ruff: noqa: E501  (embedded HTML keeps its natural line length)
"""``/compare``: several experiments side by side. Pick them (filtered by cell type, protocol,
station and status); their capacity fade, coulombic and energy efficiency and DC resistance are
overlaid against cycle, and voltage against capacity for one chosen cycle. The selection, the
filters and the cycle are the page's URL (``?e=exp-1&e=exp-2&cycle=3&status=finished``), so a
comparison is shared by sending the address. The page's script is ``static/compare.js``."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from labdcs.experiments import static
from labdcs.experiments.documents import Status
from labdcs.experiments.web_base import page


def _panel(host: str) -> str:
    return f'<figure class="panel plot"><div id="{host}" class="plothost"></div><p class="nodata" hidden></p></figure>'


def compare_page() -> HTMLResponse:
    statuses = "".join(f"<option>{s.value}</option>" for s in Status)
    body = f"""
<div class="filters">
 <label>cell type <select id="f-type"><option value="">all</option></select></label>
 <label>protocol <select id="f-protocol"><option value="">all</option></select></label>
 <label>station <select id="f-station"><option value="">all</option></select></label>
 <label>status <select id="f-status"><option value="">all</option>{statuses}</select></label>
</div>
<section class="panel"><div id="picker" class="picker"></div><p class="nodata" hidden></p></section>
<p class="muted" id="chosen"></p>
<h2>Against cycle</h2>
<div class="plotgrid">{_panel("cmp-capacity")}{_panel("cmp-ce")}{_panel("cmp-ee")}{_panel("cmp-resistance")}</div>
<h2>Voltage against capacity</h2>
<div class="plotbar"><label>cycle <input id="cmp-cycle" type="number" min="0" step="1"></label>
 <button class="secondary" id="cmp-cycle-go">show</button></div>
{_panel("cmp-vq")}"""
    script = "startCompare();"
    head = static.HEAD + "<script src='/static/compare.js'></script>"
    return page("Compare experiments", body, script, head=head)


def router() -> APIRouter:
    web = APIRouter(include_in_schema=False)

    @web.get("/compare", response_class=HTMLResponse)
    def compare() -> HTMLResponse:
        return compare_page()

    return web
