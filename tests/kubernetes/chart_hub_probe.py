"""Run inside the test's mount namespace (``test_chart_hub_config``): load the chart's own
``jupyterhub_config.py`` as JupyterHub does, from the paths where the chart mounts it, with our
``hub.extraConfig`` in its values; then render a GPU student's pod with the configured spawner.
Prints what the hub would run with, as JSON."""

from __future__ import annotations

import asyncio
import json
import os
from types import SimpleNamespace

from kubernetes_asyncio.client import ApiClient
from traitlets.config import PyFileConfigLoader


def person(name: str, group: str) -> SimpleNamespace:
    return SimpleNamespace(name=name, id=len(name), url=f"/user/{name}/", escaped_name=name,
                           groups=[SimpleNamespace(name=group)])


async def main() -> None:
    c = PyFileConfigLoader("jupyterhub_config.py", path="/usr/local/etc/jupyterhub").load_config()
    spawner_class = c.JupyterHub.spawner_class
    c[spawner_class.__name__].database_url = os.environ["PROBE_ROSTER"]
    junior = spawner_class(config=c, user=person("stu-a", "class-7a"), _mock=True)
    spawner = spawner_class(config=c, user=person("stu-s", "class-senior"), _mock=True)
    spawner.user_options = {"profile": "gpu"}
    await spawner.load_user_options()
    async with ApiClient() as client:
        pod = client.sanitize_for_serialization(await spawner.get_pod_manifest())
    print(json.dumps({
        "spawner_class": spawner_class.__name__,
        "offered": {s.user.name: [p["slug"] for p in s.profile_list(s)]
                    for s in (junior, spawner)},
        "authenticator_class": c.JupyterHub.authenticator_class.__name__,
        "db_url": c.JupyterHub.db_url,
        "services": {s["name"]: {"url": s.get("url"), "command": s.get("command")}
                     for s in c.JupyterHub.services},
        "pod": pod,
    }))


asyncio.run(main())
