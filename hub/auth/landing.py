"""Where a sign-in lands: straight in the lab of a server that is already running.

JupyterHub sends a person whose server runs to the server's root (``/user/NAME/``) after
signing in; the server, once its OAuth round trip with the hub is done, comes back to that
root and only then redirects to the lab (``[lab] default_url``). A prepared class (the
teacher started the servers before the lesson) signs in at the bell, every one of them to
a running server: landing in the lab saves each that last request through the proxy and
the server, and the round trip it takes. Used as JupyterHub's callable ``default_url``, so
a ``?next=`` still wins and everyone else (no server yet, one still starting) goes where
JupyterHub would have sent them.
"""

from __future__ import annotations

from jupyterhub.handlers.base import BaseHandler
from jupyterhub.utils import url_path_join


def running_lab_url(handler: BaseHandler) -> str:
    """The signed-in person's lab when their server is ready, else ``""`` (JupyterHub's
    own choice: the spawn page, or the home page)."""
    user = handler.current_user
    if user is None or not user.spawner.ready:
        return ""
    return url_path_join(user.url, user.spawner.default_url or "")
