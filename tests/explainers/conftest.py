"""Fixtures for the explainer tests: the package importable in-process and in kernels, and
the language reset to Chinese after each test."""

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE_ROOT = REPO / "extensions" / "explainers"

try:
    import aiclass_explainers  # noqa: F401
except ImportError:
    # Not pip-installed yet: use the source tree, here and in kernels started by the tests.
    sys.path.insert(0, str(PACKAGE_ROOT))
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")])
    )


@pytest.fixture(autouse=True)
def chinese_by_default():
    import aiclass_explainers

    aiclass_explainers.set_language("zh")
    yield
    aiclass_explainers.set_language("zh")
