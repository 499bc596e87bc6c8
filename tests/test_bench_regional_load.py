"""The regional load benchmark's own checks that need no hub (its full run is a benchmark)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from benchmarks.bench_regional_load import role_of

REPO = Path(__file__).resolve().parents[1]


def test_more_servers_than_students_is_refused_before_anything_starts() -> None:
    """Is ``--servers`` above ``--students`` refused (exit 2, Chinese first) at once?"""
    result = subprocess.run([sys.executable, "-m", "benchmarks", "regional_load",
                             "--students", "4", "--servers", "5"], cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "--servers 不能多于 --students / --servers cannot exceed --students" in result.stderr
    assert "aiclass" not in result.stdout


def test_processes_are_told_apart_by_their_command_lines() -> None:
    """The hub's command line names the proxy's command (``aiclass up`` execs it so): is it
    still the hub, and the proxy, the service, a server and a kernel each their own?"""
    hub = (f"{sys.executable} -m jupyterhub -f /data/jupyterhub_config.py "
           "--ConfigurableHTTPProxy.command=/usr/bin/configurable-http-proxy")
    assert role_of(hub) == "hub"
    assert role_of("node /usr/bin/configurable-http-proxy --ip 127.0.0.1") == "proxy"
    assert role_of(f"{sys.executable} -m hub.service --port 8081") == "service"
    assert role_of("bwrap --unshare-pid -- /venv/bin/jupyterhub-singleuser") == "server"
    assert role_of(f"{sys.executable} -m ipykernel_launcher -f kernel.json") == "kernel"
    assert role_of("/usr/bin/dockerd") == "other"
