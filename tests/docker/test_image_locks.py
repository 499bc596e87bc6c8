"""The images' locks: each image is built from ``images/locks/<image>.txt`` and nothing else.

Two centers building the same version must get the same wheels. These tests resolve each image
for real (pip, the image's Python and platform, this machine's package index) and compare the
result with the committed lock, show that a lock that has drifted stops the build before any
wheel is handed to Docker, and look inside the built images for exactly the locked set.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from docker_classroom import docker, ensure_image

from hub.cli import build_parser
from hub.images import (
    LOCKS,
    BuildOptions,
    ImageBuilder,
    ImageBuildError,
    image_reference,
    read_lock,
    recipes,
)

LOCKED_IMAGES = ("hub", "student")

#: What only a student's server runs: none of it belongs in the hub image.
LAB_AND_EXPLAINERS = (
    "jupyterlab",
    "jupyterlab-server",
    "notebook",
    "ipywidgets",
    "ipykernel",
    "torch",
    "numpy",
    "scipy",
    "scikit-learn",
    "matplotlib",
    "pandas",
    "jupyterlab-language-pack-zh-cn",
)


def locked_names(image: str) -> dict[str, str]:
    return {key: wheel.version for key, wheel in read_lock(LOCKS / f"{image}.txt").items()}


def test_hub_lock_holds_the_hub_and_not_the_lab() -> None:
    hub = locked_names("hub")
    student = locked_names("student")
    for needed in ("jupyterhub", "dockerspawner", "nbgrader", "sqlalchemy", "psycopg2-binary"):
        assert needed in hub, f"the hub image needs {needed}"
    assert not [name for name in LAB_AND_EXPLAINERS if name in hub]
    for needed in ("jupyterlab", "jupyterlab-language-pack-zh-cn", "ipykernel", "ipywidgets"):
        assert needed in student, f"a student's server needs {needed}"
    assert student["torch"].endswith("+cpu"), "the student image carries the CPU torch"


@pytest.mark.parametrize("image", [*LOCKED_IMAGES, "student-gpu"])
def test_each_image_resolves_to_its_lock(image: str, tmp_path: Path) -> None:
    """A change to pyproject.toml (or an extension's) without `aiclass images lock` fails here."""
    builder = ImageBuilder(BuildOptions(version="0.0.0"), work_dir=tmp_path)
    recipe = recipes()[image]
    resolved = builder.locked_resolution(recipe, builder.local_wheels(recipe))
    assert {key: (w.version, w.sha256) for key, w in resolved.items()} == {
        key: (w.version, w.sha256) for key, w in read_lock(LOCKS / f"{image}.txt").items()
    }


def tampered_locks(tmp_path: Path, edit: dict[str, str | None]) -> Path:
    """A copy of the locks where each named wheel's line is replaced (or removed, for None)."""
    locks = tmp_path / "locks"
    shutil.copytree(LOCKS, locks)
    path = locks / "hub.txt"
    lines = []
    for line in path.read_text().splitlines():
        name = line.split("==", 1)[0].lower()
        if name in edit:
            if edit[name] is not None:
                lines.append(edit[name])
            continue
        lines.append(line)
    path.write_text("\n".join(lines) + "\n")
    return locks


def test_a_lock_that_has_drifted_stops_the_build(tmp_path: Path) -> None:
    """A wheel missing from the lock and one whose bytes differ: refused, both named."""
    requests = read_lock(LOCKS / "hub.txt")["requests"]
    forged = f"requests=={requests.version} --hash=sha256:{'0' * 64}"
    locks = tampered_locks(tmp_path, {"tornado": None, "requests": forged})
    builder = ImageBuilder(BuildOptions(version="0.0.0"), work_dir=tmp_path, locks=locks)
    recipe = recipes()["hub"]
    wheels = tmp_path / "wheels"
    with pytest.raises(ImageBuildError) as refused:
        builder.wheelhouse(recipe, builder.local_wheels(recipe), wheels)
    message = str(refused.value)
    assert "+ tornado==" in message, message
    assert f"~ requests: 锁定 / locked {requests.version} sha256:000000000000" in message
    assert "aiclass images lock --only hub" in message
    assert list(wheels.iterdir()) == [], "nothing may reach the build context"


def test_a_missing_lock_stops_the_build(tmp_path: Path) -> None:
    builder = ImageBuilder(BuildOptions(version="0.0.0"), work_dir=tmp_path, locks=tmp_path)
    with pytest.raises(ImageBuildError, match="aiclass images lock --only hub"):
        builder.locked_resolution(recipes()["hub"], [])


def test_cli_registers_images_lock() -> None:
    args = build_parser().parse_args(["images", "lock", "--only", "student-gpu"])
    assert args.func.__name__ == "lock_command" and args.only == ["student-gpu"]
    with pytest.raises(SystemExit):
        build_parser().parse_args(["images", "lock", "--only", "postgres"])


def python_in(tag: str, script: str) -> str:
    """What ``script`` prints, run by the image's own Python with no network."""
    return docker("run", "--rm", "--network", "none", "--entrypoint", "/opt/venv/bin/python",
                  tag, "-c", script)


def installed_distributions(tag: str) -> dict[str, str]:
    """Every distribution in the image's /opt/venv, by normalised name."""
    script = (
        "import json, re; from importlib import metadata; print(json.dumps({"
        "re.sub(r'[-_.]+', '-', d.metadata['Name']).lower(): d.version "
        "for d in metadata.distributions() if d.metadata['Name'] != 'pip'}))"
    )
    out = python_in(tag, script)
    return json.loads(out)


@pytest.mark.docker
@pytest.mark.parametrize("image", LOCKED_IMAGES)
def test_the_built_image_holds_exactly_its_lock(image: str, engine: None) -> None:
    tag = ensure_image(image)
    installed = installed_distributions(tag)
    local = {"hub": {"aiclass"},
             "student": {"aiclass-exchange", "aiclass-explainers", "aiclass-assignments"}}[image]
    assert set(installed) - local == set(locked_names(image))
    for key, version in locked_names(image).items():
        assert installed[key] == version, key


@pytest.mark.docker
def test_the_hub_image_runs_the_hub_without_the_lab(engine: None) -> None:
    """Everything the hub process and its services import loads; JupyterLab and torch do not."""
    tag = ensure_image("hub")
    script = (
        "import importlib, importlib.util, pkgutil, hub, grading\n"
        "skip = ('hub.migrations.env', 'grading.sandbox.boot')\n"
        "for pkg in (hub, grading):\n"
        "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "        if not m.name.endswith('__main__') and m.name not in skip:\n"
        "            importlib.import_module(m.name)\n"
        "import dockerspawner, oauthenticator, psycopg2, jupyterhub.app\n"
        "for absent in ('jupyterlab', 'notebook', 'torch', 'numpy', 'ipywidgets'):\n"
        "    assert importlib.util.find_spec(absent) is None, absent\n"
        "from hub.images import image_reference\n"
        "print(image_reference('student'))\n"
    )
    out = python_in(tag, script)
    # Installed, the hub names the student image of its own version (a dependency's stray
    # site-packages/pyproject.toml once gave it kubernetes_asyncio's).
    assert out.splitlines()[-1] == image_reference("student")
