"""The audit report's HTML page as Debian's headless Chromium loads it, JavaScript off.

Chromium is driven over ``--remote-debugging-pipe`` (the DevTools protocol on fds 3 and 4):
with ``--blink-settings=scriptEnabled=false``, Chromium 156's ``--dump-dom`` and
``--screenshot`` print and write nothing, since both run through the page's JavaScript. The
protocol's DOM, CSS and Page domains need no page script, so the page is read (DOM.getOuterHTML),
styled (CSS.getComputedStyleForNode), clicked (Input.dispatchMouseEvent) and photographed
(Page.captureScreenshot) with JavaScript off. ``--enable-logging=stderr --v=0`` makes Chromium
print the page's console, where a Content Security Policy refusal appears.

Chromium is required, not optional: scripts/bootstrap.sh installs the Debian package
``chromium``. Each run has its own profile under the test's tmp_path and a 10 s deadline.
"""

from __future__ import annotations

import base64
import json
import os
import re
import select
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.fedisec.hardening.plugins.module_utils import audit_report as ar

GOLDEN = Path(__file__).resolve().parent / "golden" / "audit"
GENERATED = "2026-12-03T12:00:00Z"
CHROMIUM = "/usr/bin/chromium"
DEADLINE = 10.0
CSP_WORDS = "Content Security Policy"
FAILING_TEXT = "accepts TLSv1, TLSv1.1"
RED_BACKGROUND = "rgb(255, 188, 188)"  # .s-red in ar.STYLE
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--blink-settings=scriptEnabled=false",
    "--enable-logging=stderr",
    "--v=0",
    "--window-size=1280,900",
    "--remote-debugging-pipe",
    # Nothing but the page: no first-run, sync, update or extension traffic.
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-sync",
]


class Page:
    """What one Chromium run saw of one page."""

    def __init__(self) -> None:
        self.dom = ""
        self.screenshot = b""
        self.stderr = ""
        self.events: list[dict[str, Any]] = []
        self.background = ""
        self.opened_details = False


class DevTools:
    """A minimal DevTools-protocol client over Chromium's pipe (NUL-terminated JSON)."""

    def __init__(self, write_fd: int, read_fd: int, deadline: float) -> None:
        self.write_fd, self.read_fd, self.deadline = write_fd, read_fd, deadline
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> int:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.write_fd, json.dumps(message).encode() + b"\0")
        return self.next_id

    def wait_for(self, wanted) -> dict[str, Any]:
        """The first message for which ``wanted(message)``; the others are kept as events."""
        while True:
            while b"\0" in self.buffer:
                raw, self.buffer = self.buffer.split(b"\0", 1)
                message = json.loads(raw)
                if wanted(message):
                    return message
                self.events.append(message)
            left = self.deadline - time.monotonic()
            ready, _, _ = select.select([self.read_fd], [], [], max(left, 0))
            if not ready:
                raise TimeoutError(f"Chromium did not answer within {DEADLINE} s")
            chunk = os.read(self.read_fd, 1 << 20)
            if not chunk:
                raise EOFError("Chromium closed the DevTools pipe")
            self.buffer += chunk

    def call(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        ident = self.send(method, params, session)
        reply = self.wait_for(lambda message: message.get("id") == ident)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]


def _require_chromium() -> None:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"{CHROMIUM} is missing: scripts/bootstrap.sh installs it "
            "(apt-get install --no-install-recommends chromium); this test does not skip"
        )


def _center(devtools: DevTools, session: str, node: int) -> tuple[float, float]:
    quad = devtools.call("DOM.getBoxModel", {"nodeId": node}, session)["model"]["content"]
    return (quad[0] + quad[4]) / 2, (quad[1] + quad[5]) / 2


def _click(devtools: DevTools, session: str, node: int) -> None:
    x, y = _center(devtools, session, node)
    for kind in ("mousePressed", "mouseReleased"):
        devtools.call(
            "Input.dispatchMouseEvent",
            {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1},
            session,
        )


def _inspect(devtools: DevTools, url: str, red_cell: bool) -> Page:
    """Load ``url`` with scripts off; read its DOM, the red cell's style, click it, photograph."""
    target = devtools.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = devtools.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
        "sessionId"
    ]
    for domain in ("Page", "Log", "DOM", "CSS"):
        devtools.call(f"{domain}.enable", None, session)
    devtools.call("Emulation.setScriptExecutionDisabled", {"value": True}, session)
    devtools.call("Page.navigate", {"url": url}, session)
    devtools.wait_for(lambda message: message.get("method") == "Page.loadEventFired")
    page = Page()
    root = devtools.call("DOM.getDocument", {"depth": -1}, session)["root"]["nodeId"]
    if red_cell:
        cell = devtools.call("DOM.querySelector", {"nodeId": root, "selector": "td.s-red"}, session)
        style = devtools.call("CSS.getComputedStyleForNode", {"nodeId": cell["nodeId"]}, session)
        page.background = next(
            p["value"] for p in style["computedStyle"] if p["name"] == "background-color"
        )
        summary = devtools.call(
            "DOM.querySelector", {"nodeId": cell["nodeId"], "selector": "summary"}, session
        )
        _click(devtools, session, summary["nodeId"])
        root = devtools.call("DOM.getDocument", {"depth": -1}, session)["root"]["nodeId"]
        opened = devtools.call(
            "DOM.querySelector", {"nodeId": root, "selector": "td.s-red details[open]"}, session
        )
        page.opened_details = bool(opened["nodeId"])
    page.dom = devtools.call("DOM.getOuterHTML", {"nodeId": root}, session)["outerHTML"]
    shot = devtools.call("Page.captureScreenshot", {"format": "png"}, session)
    page.screenshot = base64.b64decode(shot["data"])
    page.events = list(devtools.events)
    return page


def load(path: Path, profile: Path, red_cell: bool = False) -> Page:
    """Run Chromium once on ``path`` (own profile, JavaScript off, at most DEADLINE seconds)."""
    _require_chromium()
    to_chromium, from_us = os.pipe()
    to_us, from_chromium = os.pipe()
    stderr = profile.parent / f"{profile.name}.stderr"
    argv = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"]
    with open(stderr, "wb") as err:
        # Chromium reads the protocol on fd 3 and writes on fd 4.
        proc = subprocess.Popen(
            ["bash", "-c", f'exec "$@" 3<&{to_chromium} 4>&{from_chromium}', "bash", *argv],
            pass_fds=(to_chromium, from_chromium),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    os.close(to_chromium)
    os.close(from_chromium)
    devtools = DevTools(from_us, to_us, time.monotonic() + DEADLINE)
    try:
        page = _inspect(devtools, path.as_uri(), red_cell)
        devtools.send("Browser.close")
        proc.wait(timeout=max(devtools.deadline - time.monotonic(), 1))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(from_us)
        os.close(to_us)
    page.stderr = stderr.read_text(errors="replace")
    return page


def csp_messages(page: Page) -> list[str]:
    """Chromium's stderr lines and DevTools log entries about the Content Security Policy."""
    lines = [line for line in page.stderr.splitlines() if CSP_WORDS in line]
    lines.extend(
        event["params"]["entry"]["text"]
        for event in page.events
        if event.get("method") == "Log.entryAdded"
        and CSP_WORDS in event["params"]["entry"].get("text", "")
    )
    return lines


def failing_report() -> dict:
    """The golden hosts; fedi's TLS cell is red (TLSv1 and TLSv1.1 accepted), the rest not."""
    hosts = {name: json.loads((GOLDEN / f"{name}.json").read_text()) for name in ("fedi", "backup")}
    hosts["fedi"]["web"]["protocols"].update({"TLSv1": True, "TLSv1.1": True})
    return ar.build_report(hosts, {}, generated=GENERATED, version="9.8.7")


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


@pytest.fixture(name="report_page", scope="module")
def fixture_report_page(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Page]:
    """The failing report, loaded once for the tests that read it."""
    tmp_path = tmp_path_factory.mktemp("report")
    page_text = ar.render_html(failing_report())
    path = tmp_path / "report.html"
    path.write_text(page_text, encoding="utf-8")
    return page_text, load(path, tmp_path / "profile", red_cell=True)


def test_failing_cell_is_on_the_loaded_page(report_page):
    _text, page = report_page
    assert page.dom.startswith('<!DOCTYPE html><html lang="en">')
    cells = re.findall(r'<td class="s-red"[^>]*>(.*?)</td>', page.dom, re.S)
    assert len(cells) == 1
    assert "FAIL" in cells[0] and FAILING_TEXT in cells[0]
    assert "9.8.7" in page.dom and GENERATED in page.dom
    assert "<script" not in page.dom.lower()


def test_style_applies_and_csp_is_quiet(report_page):
    _text, page = report_page
    # The hashed <style> was applied (the red cell is red), and nothing was refused.
    assert page.background == RED_BACKGROUND
    assert csp_messages(page) == []


def test_details_open_on_click_without_javascript(report_page):
    _text, page = report_page
    assert page.opened_details
    assert "TLSv1: accepted" in page.dom


def test_screenshot_is_a_real_png(report_page, tmp_path):
    _text, page = report_page
    shot = tmp_path / "report.png"
    shot.write_bytes(page.screenshot)
    width, height = png_size(shot.read_bytes())
    assert width == 1280 and 600 <= height <= 900
    # A blank 1280-pixel-wide PNG compresses to well under 10 kB; a rendered table does not.
    assert shot.stat().st_size > 20_000


def test_wrong_style_hash_is_refused(tmp_path):
    """The control: the same page whose CSP allows another hash makes Chromium refuse the style."""
    page_text = ar.render_html(failing_report())
    right = ar.style_hash()
    assert page_text.count(right) == 1
    wrong = base64.b64encode(b"\0" * 32).decode()
    path = tmp_path / "control.html"
    path.write_text(page_text.replace(right, wrong), encoding="utf-8")
    page = load(path, tmp_path / "profile", red_cell=True)
    refusals = csp_messages(page)
    assert refusals, page.stderr[-2000:]
    assert any("style" in line for line in refusals)
    assert page.background == "rgba(0, 0, 0, 0)"  # the style was not applied


def test_javascript_is_off(tmp_path):
    """The harness really runs pages without JavaScript (a page with no CSP, with a script)."""
    path = tmp_path / "script.html"
    path.write_text(
        '<!DOCTYPE html><p id="js">off</p>'
        "<script>document.getElementById('js').textContent = 'on'</script>",
        encoding="utf-8",
    )
    page = load(path, tmp_path / "profile")
    assert '<p id="js">off</p>' in page.dom
