"""The report in a real browser: headless Chromium (Debian's package) opens index.html from
disk; every image must load and no request may leave the page. Skips where Chromium or the
playwright package is missing (.ci/run installs both)."""

from __future__ import annotations

import shutil

import pytest

from benchsuite import report
from tests.resultdocs import make_run, write

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium: apt-get install chromium")

HOSTILE = "<img src=x onerror=alert(1)><script>alert('x')</script>"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def test_report_opens_offline_with_every_image_loaded(tmp_path):
    run = make_run([{"backend": b, "model": m, "batch_size": bs, "samples": [k * bs + i for i in
                                                                              range(5)]}
                    for k, b in ((100, "numpy"), (250, "torch")) for m in ("logreg", "mlp")
                    for bs in (16, 64)]
                   + [{"backend": HOSTILE, "model": "mlp", "status": "failed",
                       "error": HOSTILE}])
    written, _ = report.write_report([write(run, tmp_path / "run.json")], tmp_path / "rep")
    index = written["html"]
    outside: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.on("request", lambda r: None if r.url.startswith(("file:", "data:"))
                    else outside.append(r.url))
            dialogs: list[str] = []
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(index.as_uri(), wait_until="load")
            images = page.evaluate("""() => Array.from(document.images).map(
                i => [i.alt, i.complete && i.naturalWidth > 0])""")
            scripts = page.evaluate("() => document.scripts.length")
            text = page.inner_text("body")
        finally:
            browser.close()
    assert len(images) >= 2 and all(ok for _, ok in images), images
    assert outside == []
    assert scripts == 0 and dialogs == []
    assert HOSTILE in text  # rendered as text, not markup
