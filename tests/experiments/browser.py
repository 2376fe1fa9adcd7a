# ruff: noqa: E501  (embedded JavaScript keeps its natural line length)
"""Headless Chromium for the web UI's tests (Debian's, through Playwright), and what they check on
every page: nothing wider than the window, nothing cut off without its full text on hover."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support import CHROMIUM, wait_until

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="chromium is not installed (scripts/setup)"
)


@pytest.fixture
def browser(chromium: Any) -> Any:
    """The session's Chromium (tests/conftest.py)."""
    return chromium


#: Elements drawn past the right edge of the window or of their card, and clipped texts (ellipsis)
#: that do not carry their full text in a title: what a person at this width could not read.
_CUT_OFF = r"""() => {
  const out = [], width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth > width) out.push(`page ${document.documentElement.scrollWidth} px wide in ${width}`);
  for (const el of document.querySelectorAll('main *')) {
    const r = el.getBoundingClientRect();
    if (!r.width || el.closest('[hidden]')) continue;
    const box = el.parentElement.closest('.card, table, figure') || document.querySelector('main');
    const outer = box.getBoundingClientRect();
    if (r.right > Math.min(width, outer.right) + 1) out.push(`${el.tagName}#${el.id}.${el.className} ends at ${Math.round(r.right)} px`);
    const clipped = el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1;
    const style = getComputedStyle(el);
    if (clipped && style.overflow === 'hidden' && el.title !== el.textContent) out.push(`${el.tagName}.${el.className} clipped without its text in a title`);
  }
  return out;
}"""


def wait_js(page: Any, expression: str, timeout: float = 30_000) -> None:
    """``page.wait_for_function`` for pages under the UI's Content-Security-Policy: Playwright
    compiles that predicate in the page (``new Function``), which the policy forbids; ``evaluate``
    runs it from outside. ``timeout`` in ms, as Playwright's."""
    wait_until(
        lambda: bool(page.evaluate(expression)), timeout / 1000, f"the page: {expression}", interval=0.1
    )


def cut_off(page: Any) -> list[str]:
    """What this page hides from a person at its window width (empty: all readable), once the plots
    have taken the window's width (a resize is followed by two animation frames)."""
    settled(page)
    found: list[str] = page.evaluate(_CUT_OFF)
    return found


def settled(page: Any) -> None:
    """After a change of window size: two animation frames, in which the plots (uPlot, sized by a
    ResizeObserver) have taken the new width, as a person sees the page."""
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
