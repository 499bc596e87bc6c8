"""JupyterLab in headless Chromium: three explainers render, a slider redraws the view, and
hovering sends the pointer back to Python.  Screenshots land in test-artifacts/explainers/."""

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from tests.hub.hubprocess import free_port

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "explainers"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
CELLS = [
    "import aiclass_explainers as ax",
    'knn = ax.show("knn", predict_first=False)',
    'conv = ax.show("convolution", predict_first=False)',
    'playground = ax.show("playground", predict_first=False)',
]

KERNEL_READY = """(() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel && panel.sessionContext && panel.sessionContext.session
    && panel.sessionContext.session.kernel;
  return Boolean(kernel && kernel.connectionStatus === "connected" && kernel.status === "idle");
})()"""

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason="Debian's chromium is not installed: `make system-test` installs it"),
]


@pytest.fixture
def lab(tmp_path):
    """A plain `jupyter lab` on 127.0.0.1 with a token, serving a notebook of three explainers."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    nbformat.write(notebook, tmp_path / "three.ipynb")
    port, token = free_port(), "aiclass-browser-test"
    home = tmp_path / "home"
    env = {**os.environ, "HOME": str(home), "JUPYTER_CONFIG_DIR": str(home / "config"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "AICLASS_LANG": "zh"}
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={tmp_path}",
        "--allow-root", "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        f"--LabApp.workspaces_dir={home / 'workspaces'}",
    ]
    log = open(tmp_path / "lab.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                               cwd=tmp_path, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5)
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail("jupyter lab did not start:\n"
                            + (tmp_path / "lab.log").read_text(errors="replace")[-3000:])
            time.sleep(0.5)
    yield f"{base}/lab/tree/three.ipynb?token={token}"
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
    log.close()
    shutil.copy(tmp_path / "lab.log", ARTIFACTS / "lab.log")


def scene_state(page, selector: str) -> dict:
    return page.eval_on_selector(
        selector, "c => ({frame: c.parentElement.dataset.frame, image: c.toDataURL()})")


def test_three_explainers_render_and_a_slider_redraws(lab):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        console: list[str] = []
        page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
        try:
            drive(page, lab)
        except Exception:
            page.screenshot(path=ARTIFACTS / "failure.png", full_page=True)
            raise
        finally:
            (ARTIFACTS / "console.log").write_text("\n".join(console))
            browser.close()


def drive(page, lab: str) -> None:
    """Run the notebook, move the k slider, hover the convolution output."""
    page.goto(lab)
    page.wait_for_selector(".jp-Notebook", timeout=120_000)
    page.wait_for_function("window.jupyterapp && window.jupyterapp.commands", timeout=60_000)
    page.wait_for_function(KERNEL_READY, timeout=180_000, polling=500)
    # Not awaited: the command's promise only settles once every cell has run.
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    for name in ("knn", "convolution", "playground"):
        page.wait_for_selector(f".aiclass-{name} canvas", timeout=240_000)
    knn_canvas = ".aiclass-knn canvas.aiclass-scene"
    page.wait_for_function(
        f"document.querySelector('{knn_canvas}').parentElement.dataset.frame >= '1'",
        timeout=60_000)
    page.screenshot(path=ARTIFACTS / "01-three-explainers.png", full_page=True)

    before = scene_state(page, knn_canvas)
    readout = page.locator(".aiclass-knn .widget-readout").first
    assert readout.inner_text().strip() == "1"
    handle = page.locator(".aiclass-knn .noUi-handle").first
    handle.scroll_into_view_if_needed()
    handle.focus()
    for _ in range(4):
        handle.press("ArrowRight")
    page.wait_for_function(
        f"document.querySelector('{knn_canvas}').parentElement.dataset.frame "
        f"!== '{before['frame']}'", timeout=60_000)
    after = scene_state(page, knn_canvas)
    assert readout.inner_text().strip() == "5"
    assert after["image"] != before["image"], "the boundary picture did not change"
    page.locator(".aiclass-knn").screenshot(path=ARTIFACTS / "02-knn-after-slider.png")

    output_grid = page.locator(".aiclass-convolution canvas.aiclass-grid").nth(1)
    output_grid.scroll_into_view_if_needed()
    output_grid.hover(position={"x": 60, "y": 60})
    explanation = page.locator(".aiclass-convolution code")
    explanation.wait_for(timeout=60_000)
    assert explanation.inner_text().count("×") == 9 and "=" in explanation.inner_text()
    page.locator(".aiclass-convolution").screenshot(
        path=ARTIFACTS / "03-convolution-hover.png")
