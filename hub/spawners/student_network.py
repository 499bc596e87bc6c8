"""The students' network: each container in a namespace of its own, fenced in to the hub.

Docker mode used to run every container on the host's network, where a student's terminal
reached whatever the host reaches (PostgreSQL, the proxy's and the hub's APIs on 127.0.0.1,
the school network, a cloud's metadata address) and could listen on the host's public
address. Host networking with packet-filter rules keyed on the container's uid or cgroup
cannot close that: a filter does not stop a process binding the host's addresses, every
container runs as uid 1000 (which can also be a person on the host), and hosts on cgroup v1
(this one included) give nftables no cgroup to match sockets by.

So each container gets its own network namespace on a Docker bridge network created
``--internal``: its 127.0.0.1 is its own, and so is every port it binds. The host keeps an
address on the bridge (the gateway), through which the proxy reaches the servers and the
servers reach the hub and the classroom service: through the proxy's public port, or, when
the proxy speaks TLS (``[tls]``) with a certificate for the hub's public name, at the hub's
API port and the service's port, both bound on the gateway only.
Docker's isolation of an internal network is iptables rules, which a daemon started with
``--iptables=false`` never writes and which never covered the gateway address itself (a host
service listening on every address would answer). :class:`StudentNetwork` therefore installs
its own nftables fence: from the bridge, only those ports on the gateway and replies
to the proxy's own connections are accepted, everything else is refused at once (TCP reset,
ICMP administratively prohibited), nothing is routed off the bridge (no school network, no
169.254.169.254), and containers on it cannot reach one another.
"""

from __future__ import annotations

import ipaddress
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import docker
import docker.errors

FENCE_TABLE_PREFIX = "aiclass_"
CREATED_BY_LABEL = "org.aiclass.students-network"


class StudentNetworkError(Exception):
    """The students' network cannot be made or fenced; the message is bilingual."""


def fence_table(network: str) -> str:
    """The nftables table (``inet`` and ``bridge``) fencing in ``network``."""
    return FENCE_TABLE_PREFIX + "".join(c if c.isalnum() else "_" for c in network)


@dataclass(frozen=True)
class StudentNetwork:
    """A bridge network's name, its bridge interface on the host, its subnet and gateway."""

    name: str
    bridge: str
    subnet: str
    gateway: str

    @classmethod
    def ensure(cls, client: docker.APIClient, name: str) -> StudentNetwork:
        """The network ``name``, created ``--internal`` if it does not exist yet."""
        if not any(n["Name"] == name for n in client.networks(names=[name])):
            try:
                # Docker takes a second network of the same name unless told not to
                client.create_network(name, driver="bridge", internal=True,
                                      labels={CREATED_BY_LABEL: "true"}, check_duplicate=True)
            except docker.errors.APIError as error:
                if error.status_code != 409:  # another hub made it meanwhile
                    raise
        info = client.inspect_network(name)
        ipam = (info.get("IPAM") or {}).get("Config") or []
        if info.get("Driver") != "bridge" or not ipam or ":" in ipam[0]["Subnet"]:
            raise StudentNetworkError(
                f"学生网络 {name} 必须是 IPv4 bridge 网络 / the students' network {name} "
                "must be an IPv4 bridge network"
            )
        subnet = ipam[0]["Subnet"]
        # Docker leaves the gateway out of a subnet given at creation: it is the first host
        gateway = ipam[0].get("Gateway") or str(ipaddress.ip_network(subnet)[1])
        options = info.get("Options") or {}
        bridge = options.get("com.docker.network.bridge.name") or f"br-{info['Id'][:12]}"
        return cls(name, bridge, subnet, gateway.split("/")[0])

    def fence_rules(self, open_ports: list[int]) -> str:
        """The nftables script replacing this network's fence, applied as one transaction."""
        table, bridge = fence_table(self.name), self.bridge
        ports = ", ".join(str(port) for port in sorted(set(open_ports)))
        return f"""
table inet {table} {{ }}
delete table inet {table}
table inet {table} {{
    chain input {{
        type filter hook input priority filter - 1; policy accept;
        iifname "{bridge}" ct state established,related accept
        iifname "{bridge}" ip daddr {self.gateway} tcp dport {{ {ports} }} accept
        iifname "{bridge}" meta l4proto tcp reject with tcp reset
        iifname "{bridge}" reject with icmpx type admin-prohibited
    }}
    chain forward {{
        type filter hook forward priority filter - 1; policy accept;
        iifname "{bridge}" reject with icmpx type admin-prohibited
        oifname "{bridge}" drop
    }}
}}
table bridge {table} {{ }}
delete table bridge {table}
table bridge {table} {{
    chain forward {{
        type filter hook forward priority filter - 1; policy accept;
        ip saddr {self.subnet} ip daddr {self.subnet} drop
    }}
}}
"""

    def install_fence(self, open_ports: list[int]) -> None:
        """Replace this network's fence, open to ``open_ports`` on the gateway (the hub needs
        ``CAP_NET_ADMIN`` and nft)."""
        try:
            result = subprocess.run(
                ["nft", "-f", "-"],
                input=self.fence_rules(open_ports),
                capture_output=True,
                text=True,
            )
        except FileNotFoundError as error:
            raise StudentNetworkError(
                "找不到 nft，无法隔离学生网络 / nft is missing: cannot fence in the students' "
                "network (apt-get install nftables)"
            ) from error
        if result.returncode:
            raise StudentNetworkError(
                f"无法隔离学生网络 {self.name} / cannot fence in the students' network "
                f"{self.name}: {result.stderr.strip()}"
            )

    def remove(self, client: docker.APIClient) -> None:
        """Remove the fence and the network (a test's or a benchmark's own network)."""
        for family in ("inet", "bridge"):
            subprocess.run(["nft", "delete", "table", family, fence_table(self.name)],
                           capture_output=True)
        client.remove_network(self.name)


@contextmanager
def temporary_student_network(name: str) -> Iterator[StudentNetwork]:
    """A students' network made for one run (a test hub, a benchmark) and removed with its
    fence after, so runs beside each other never share containers' neighbours."""
    client = docker.APIClient()
    network = StudentNetwork.ensure(client, name)
    try:
        yield network
    finally:
        network.remove(client)
        client.close()
