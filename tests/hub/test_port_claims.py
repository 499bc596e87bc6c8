"""Local servers never share a port, even when the kernel hands one out twice.

Found by the regional load benchmark: JupyterHub's ``random_port`` closes the socket it
bound, so the kernel may return the same port to the next start (here 31 repeats in 1,000
calls), and a boxed server binds it only seconds later. Two boxes got one port; the second
person was routed to the first one's server. :class:`PortClaims` holds a port from a
server's start to its stop.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hub.spawners.local import PortClaims


def repeating(*ports: int) -> Iterator[int]:
    yield from ports


def test_a_port_held_by_one_server_is_never_given_to_another():
    picks = repeating(41253, 41253, 41253, 41999)
    claims = PortClaims(pick=lambda: next(picks))
    assert claims.claim("s-0073/") == 41253
    assert claims.claim("s-0053/") == 41999  # the kernel offered 41253 twice more: refused


def test_a_stopped_servers_port_may_be_given_again_and_a_restart_may_keep_its_own():
    picks = repeating(41253, 41253, 41253)
    claims = PortClaims(pick=lambda: next(picks))
    claims.claim("s-0073/")
    claims.release("s-0073/")
    assert claims.claim("s-0053/") == 41253
    assert claims.claim("s-0053/") == 41253  # its own port does not block itself


def test_no_free_port_is_a_clear_error():
    claims = PortClaims(pick=lambda: 41253)
    claims.claim("s-0073/")
    with pytest.raises(RuntimeError, match="no free port"):
        claims.claim("s-0053/")


def test_the_hubs_own_picks_stay_distinct_over_a_morning_of_starts():
    claims = PortClaims()  # JupyterHub's random_port, the kernel's real answers
    ports = [claims.claim(f"s-{number:04d}/") for number in range(300)]
    assert len(set(ports)) == 300
