"""The report in a real browser: headless Chromium (Debian's package) opens index.html from
disk; every image must load, no request may leave the page, and at 1280 px nothing overflows
horizontally (a screenshot of the first screen is kept: under the test's tmp_path, and in
$BENCHSUITE_ARTIFACTS when set). Skips where Chromium is missing, and the image/request test
where the playwright package is (.ci/run installs both); playwright never downloads a browser
here, it drives Debian's."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from benchsuite import report
from tests.resultdocs import make_run, write

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium: apt-get install chromium")

HOSTILE = "<img src=x onerror=alert(1)><script>alert('x')</script>"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def test_report_opens_offline_with_every_image_loaded(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
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


WIDTH = 1280
PROBE = ("<script>document.body.insertAdjacentHTML('beforeend', '<p id=probe>' + "
         "document.documentElement.scrollWidth + '</p>')</script>")


def _chromium(*args: str) -> str:
    out = subprocess.run([CHROMIUM, *ARGS, f"--window-size={WIDTH},900",
                          "--hide-scrollbars", *args], capture_output=True, text=True,
                         timeout=120)
    return out.stdout


def test_nothing_overflows_at_1280_px_and_a_screenshot_is_kept(tmp_path):
    long_error = "E" * 400  # one unbroken word: must wrap, not widen the page
    run = make_run([{"backend": b, "model": m, "mode": mode, "samples": [k + i for i in range(5)],
                     "parity_dev": 1e-7}
                    for k, b in ((100, "numpy"), (250, "torch"), (240, "tensorflow"))
                    for m in ("logreg", "mlp", "convnet") for mode in ("train", "infer")]
                   + [{"backend": "jax", "model": "mlp", "status": "failed",
                       "error": long_error}])
    written, _ = report.write_report([write(run, tmp_path / "run.json")], tmp_path / "rep")
    page = written["html"].read_text()
    # A copy that measures itself (the report allows no script: its CSP is relaxed here only).
    probe = tmp_path / "probe.html"
    probe.write_text(re.sub(r"<meta http-equiv='Content-Security-Policy'[^>]*>", "", page)
                     .replace("</body>", PROBE + "</body>"))
    dom = _chromium("--dump-dom", "--virtual-time-budget=5000", probe.as_uri())
    found = re.search(r'<p id="probe">(\d+)</p>', dom)
    assert found, dom[-500:]
    assert int(found.group(1)) <= WIDTH
    shot = tmp_path / "report-1280.png"
    _chromium(f"--screenshot={shot}", written["html"].as_uri())
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("BENCHSUITE_ARTIFACTS"):
        folder = os.environ["BENCHSUITE_ARTIFACTS"]
        os.makedirs(folder, exist_ok=True)
        shutil.copy(shot, folder)
