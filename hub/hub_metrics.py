"""The hub process's own metrics, served with JupyterHub's at ``/hub/metrics``.

Sign-ins and GPU slots happen in the hub process (the authenticator and the spawner's
:class:`~hub.spawners.gpu.GpuPool` live there), and JupyterHub serves ``/hub/metrics`` from
prometheus_client's default registry, so metrics defined here in that registry appear
there beside JupyterHub's own, behind its ``read:metrics`` scope, without a handler of
ours. The classroom service's metrics are in :mod:`hub.service.metrics`.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge
from tornado import web

SIGN_INS = Counter(
    "aiclass_sign_ins", "Sign-in attempts by outcome: success; failure (wrong password, "
    "unknown or locked account, refused by the SSO or the roster); held_back (too many "
    "failures from the address); password_change (a right initial password, asked to be "
    "replaced)", ["outcome"])
GPU_SLOTS_IN_USE = Gauge(
    "aiclass_gpu_slots_in_use", "Student servers holding a slot of each GPU or MIG device",
    ["device"])
GPU_SLOTS = Gauge(
    "aiclass_gpu_slots", "Slots each GPU or MIG device offers (students per device)",
    ["device"])


def sign_in_outcome(error: web.HTTPError) -> str:
    """The outcome label of a sign-in refused with ``error``.

    An error may name its own outcome in a ``sign_in_outcome`` attribute (the roster's
    request for a new password does); otherwise 429 is a held-back address and anything
    else a failure.
    """
    named = getattr(error, "sign_in_outcome", None)
    if named:
        return named
    return "held_back" if error.status_code == 429 else "failure"
