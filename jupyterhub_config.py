"""JupyterHub configuration for aiclass: everything comes from ``<data dir>/aiclass.toml``."""

from hub.config import configure_hub

configure_hub(c)  # noqa: F821 - ``c`` is provided by JupyterHub
