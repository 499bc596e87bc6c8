"""Which profile a server may start with: one rule for every mode that offers profiles.

``user_options`` come straight from the REST API's request body, and each spawner would honour
more in them than a profile (DockerSpawner an ``image``, KubeSpawner profile options and their
unlisted choices), so :meth:`ProfileChoice.checked_profile` accepts nothing but a ``profile``
the person may use: an unknown key or profile is 400, a profile of someone else's groups 403.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from tornado import web

CPU, GPU = "cpu", "gpu"


class ProfileChoice:
    """The check of a start's ``user_options`` and the refusal that forgets them.

    Mixed into a spawner class before the JupyterHub spawner it extends (JupyterHub refuses a
    ``Spawner`` subclass without its own ``start``, ``stop`` and ``poll``).
    """

    user_options: dict[str, Any]
    orm_spawner: Any
    db: Any

    def checked_profile(self, offered: Collection[str], allowed: Collection[str]) -> str:
        """The profile of this start (``cpu`` when none is named), or a refusal."""
        unknown = sorted(set(self.user_options) - {"profile"})
        if unknown:
            raise self.refuse_options(
                400, f"只能选择运行环境 / only a profile may be chosen, not: {', '.join(unknown)}")
        profile = self.user_options.get("profile", CPU)
        if profile not in offered:
            raise self.refuse_options(400, f"未知的环境 / unknown profile: {profile}")
        if profile not in allowed:
            raise self.refuse_options(
                403, "你的班级不能使用 GPU 环境 / your class may not use GPUs")
        return profile

    def refuse_options(self, status: int, message: str) -> web.HTTPError:
        """The refusal of this start's ``user_options``, which are forgotten.

        JupyterHub keeps the last options it was given as the default of every later start
        without options (the spawn button), so refused ones would refuse those too.
        """
        self.user_options = {}
        if self.orm_spawner is not None:
            self.orm_spawner.user_options = {}
            self.db.commit()
        return web.HTTPError(status, message)
