"""Kubernetes mode's side of the Zero to JupyterHub chart: the values rendered from the settings
(:mod:`.values`) and the hub's configuration inside the chart's hub pod (:mod:`.hub_config`)."""
