"""The compose deployment's hub container stops within ``docker stop``'s 10 s, unkilled.

``docker stop -t 10`` sends SIGTERM (tini passes it on to the hub) and SIGKILLs after
10 s; a hub that needed the SIGKILL would exit with 137 and stop its services and its
database connections uncleanly. Does it exit on its own, in time?
"""

from __future__ import annotations

import json
import time

import pytest
from compose_project import Compose
from docker_classroom import docker

pytestmark = pytest.mark.docker


def test_hub_container_exits_on_sigterm_within_10_s(compose: Compose) -> None:
    """Stops the hub of the shared deployment: this module runs after the others using it."""
    hub = compose.container("hub")
    started = time.monotonic()
    docker("stop", "-t", "10", hub)
    took = time.monotonic() - started
    state = json.loads(docker("inspect", hub))[0]["State"]
    assert state["ExitCode"] != 137, f"the hub needed SIGKILL ({took:.1f} s): {state}"
    print(f"hub container stopped in {took:.1f} s, exit code {state['ExitCode']}")
