"""The documentation site: built with ``mkdocs build --strict``, its API reference checked, and pages opened in Chromium.

The site is built once into a temporary folder (the ``docs`` extra: mkdocs,
mkdocs-material, mkdocstrings, mkdocs-jupyter, MathJax, selenium), served on
127.0.0.1 by :mod:`http.server` in a thread, and three pages (the index, a
tutorial page and a notebook) are opened in headless Chromium (Debian's
``chromium`` and ``chromium-driver``, which ``.ci/run`` installs): every image
must load, every formula must be typeset by MathJax without a TeX error, and the
browser console must stay free of errors. Screenshots of the pages are saved in
a temporary folder whose path the test prints.

Locally the tests are skipped, with the reason, when the docs extra or Chromium
is missing; under CI (``CI`` set) they fail instead, so a green run cannot hide
a missing install.
"""

from __future__ import annotations

import functools
import http.server
import importlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS_EXTRA = ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python", "mkdocs_jupyter", "mathjax")
CHROMIUM = ("chromium", "chromium-browser", "google-chrome")


def _need(ok: bool, reason: str) -> None:
    if not ok:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run this test: {reason}")
        pytest.skip(reason)


def _have(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


@pytest.fixture(scope="module")
def site() -> Iterator[Path]:
    """``mkdocs build --strict`` of the repository's mkdocs.yml, into a temporary folder."""
    missing = [name for name in DOCS_EXTRA if not _have(name)]
    _need(not missing, f"the docs extra is not installed (missing {missing}): pip install -e '.[docs]'")
    folder = Path(tempfile.mkdtemp(prefix="reductions-site-"))
    env = {**os.environ, "JUPYTER_PLATFORM_DIRS": "1", "NO_MKDOCS_2_WARNING": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(folder)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, f"mkdocs build --strict failed:\n{run.stderr[-6000:]}"
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _rendered_modules() -> list[str]:
    modules = []
    for page in sorted((ROOT / "docs").glob("reference-*.md")):
        modules += re.findall(r"^::: ([a-z_][\w.]*)\s*$", page.read_text(encoding="utf-8"), re.MULTILINE)
    return modules


def test_the_site_has_every_page_and_notebook(site):
    for page in ["index.html", "getting-started/index.html", "oracles/index.html", "reference-reductions/index.html"]:
        assert (site / page).is_file(), page
    for notebook in (ROOT / "docs" / "notebooks").glob("*.ipynb"):
        html = (site / "notebooks" / notebook.stem / "index.html").read_text(encoding="utf-8")
        assert "jupyter-wrapper" in html and "data:image/png;base64," in html, f"{notebook.name} not executed"
    assert (site / "javascripts" / "mathjax" / "tex-svg.js").stat().st_size > 1_000_000
    for page in site.rglob("*.html"):
        assert "cdn" not in " ".join(re.findall(r'<script[^>]*src="([^"]*)"', page.read_text(encoding="utf-8")))


def test_the_api_reference_has_an_entry_for_every_public_name(site):
    """Every name in the ``__all__`` of a rendered module has its anchor on a reference page."""
    pytest.importorskip("matplotlib")  # reductions.app.figures
    html = "".join(page.read_text(encoding="utf-8") for page in site.glob("reference-*/index.html"))
    anchors = set(re.findall(r'id="([\w.]+)"', html))
    modules = {name: importlib.import_module(name) for name in _rendered_modules()}
    missing, count = [], 0
    for module_name, module in modules.items():
        for name in module.__all__:
            count += 1
            obj = getattr(module, name)
            # a name re-exported lazily (module __getattr__) has its entry where it is defined
            homes = [other for other, m in modules.items() if name in m.__all__ and getattr(m, name) is obj]
            if not any(f"{home}.{name}" in anchors for home in homes):
                missing.append(f"{module_name}.{name}")
    assert count > 300
    assert not missing, f"no entry on the site for {missing}"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def served(site) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    _need(_have("selenium"), "selenium is not installed: pip install -e '.[docs]'")
    binary = next((shutil.which(name) for name in CHROMIUM if shutil.which(name)), None)
    driver_path = shutil.which("chromedriver")
    _need(
        binary is not None and driver_path is not None,
        "Chromium or its driver is missing: apt-get install -y chromium chromium-driver",
    )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="reductions-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
        f"--user-data-dir={profile}",
    ]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def screenshots() -> Path:
    return Path(tempfile.mkdtemp(prefix="reductions-site-screenshots-"))


# page -> (at least this many images, at least this many typeset formulas, a text the page must show)
PAGES = {
    "index.html": (1, 0, "Where to start"),
    "oracles/index.html": (2, 1, "polynomial method"),
    "notebooks/sat-through-attention/index.html": (3, 2, "answer: SAT"),
}

_TYPESET = """
const done = arguments[arguments.length - 1];
const ready = window.MathJax && MathJax.startup && MathJax.startup.promise;
(ready ? MathJax.startup.promise : Promise.reject(new Error("MathJax did not load")))
  .then(() => done({
      formulas: document.querySelectorAll("mjx-container").length,
      errors: Array.from(document.querySelectorAll("mjx-merror, [data-mjx-error]")).map(e => e.textContent),
      raw: document.querySelectorAll(".arithmatex:not(:has(mjx-container))").length,
  }))
  .catch(error => done({error: String(error)}));
"""

_IMAGES = """
const images = Array.from(document.images);
return images.map(image => ({src: image.src.slice(0, 80), complete: image.complete, width: image.naturalWidth}));
"""


@pytest.mark.parametrize("page", list(PAGES))
def test_pages_render_in_chromium(browser, served, screenshots, capsys, page):
    images_at_least, formulas_at_least, text = PAGES[page]
    browser.get_log("browser")  # drop what earlier pages logged
    browser.get(served + page)
    browser.execute_async_script(
        "window.addEventListener('load', () => arguments[0]()); if (document.readyState === 'complete') arguments[0]();"
    )

    images = browser.execute_script(_IMAGES)
    assert len(images) >= images_at_least, f"{page}: {len(images)} images"
    broken = [image["src"] for image in images if not (image["complete"] and image["width"] > 0)]
    assert not broken, f"{page}: images that did not load: {broken}"

    math = browser.execute_async_script(_TYPESET)
    assert "error" not in math, f"{page}: {math.get('error')}"
    assert math["formulas"] >= formulas_at_least, f"{page}: {math['formulas']} formulas typeset"
    assert not math["errors"], f"{page}: TeX errors {math['errors']}"
    assert math["raw"] == 0, f"{page}: {math['raw']} formulas left as TeX source"

    body = browser.find_element("tag name", "body").text
    assert text in body, f"{page}: {text!r} not shown"
    errors = [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert not errors, f"{page}: console errors {errors}"

    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, min(max(height, 900), 12_000))
    shot = screenshots / (page.replace("/index.html", "").replace("/", "-").replace(".html", "") + ".png")
    browser.save_screenshot(str(shot))
    browser.set_window_size(1280, 900)
    assert shot.stat().st_size > 10_000
    with capsys.disabled():
        print(f"\n  screenshot of {page}: {shot}")
