"""Fair sharing of a center's GPUs between student containers.

A regional center has one or a few GPUs for hundreds of students, so a GPU (or a MIG instance
of one) is shared by a few students at a time. :class:`GpuPool` hands each GPU-profile server
the least-loaded device that still has a free slot, tells the container which share of the
device's memory it may use (the image's kernel startup file applies it with
``torch.cuda.set_per_process_memory_fraction``), and frees the slot when the server stops.

The pool's only memory is the containers themselves: each GPU container carries labels naming
its device and share, so after a hub restart :meth:`GpuPool.restore` rebuilds the assignments
from the running containers instead of double-booking devices.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from traitlets import Float, Integer, List, Unicode, default, validate
from traitlets.config import SingletonConfigurable

from hub.hub_metrics import GPU_SLOTS, GPU_SLOTS_IN_USE

#: Container labels through which assignments survive a hub restart.
DEVICE_LABEL = "org.aiclass.gpu.device"
FRACTION_LABEL = "org.aiclass.gpu.memory-fraction"
OWNER_LABEL = "org.aiclass.gpu.owner"

_GPU_LINE = re.compile(r"^GPU (?P<index>\d+): (?P<name>.+?) \(UUID: (?P<uuid>GPU-[^)]+)\)")
_MIG_LINE = re.compile(r"^\s+MIG (?P<profile>\S+)\s+Device\s+\d+: \(UUID: (?P<uuid>MIG-[^)]+)\)")
_MIG_MEMORY = re.compile(r"(?P<gb>\d+)gb$")


class NoGpuAvailable(RuntimeError):
    """Every device is at its student limit; the student should use a CPU server."""


@dataclass(frozen=True)
class GpuDevice:
    """A whole GPU or one MIG instance, addressed by the UUID Docker's device request takes."""

    uuid: str
    name: str
    memory_mib: int | None = None


@dataclass(frozen=True)
class GpuAssignment:
    """One student's slot: the device and the share of its memory they may allocate."""

    owner: str
    device: GpuDevice
    memory_fraction: float

    def labels(self) -> dict[str, str]:
        """Container labels that let :meth:`GpuPool.restore` find this slot again."""
        return {
            DEVICE_LABEL: self.device.uuid,
            FRACTION_LABEL: f"{self.memory_fraction:.4f}",
            OWNER_LABEL: self.owner,
        }

    def environment(self) -> dict[str, str]:
        """Environment for the container: the visible device and the memory cap."""
        return {
            "NVIDIA_VISIBLE_DEVICES": self.device.uuid,
            "NVIDIA_DRIVER_CAPABILITIES": "compute,utility",
            "AICLASS_GPU_MEMORY_FRACTION": f"{self.memory_fraction:.4f}",
        }


def parse_nvidia_smi_list(text: str) -> list[GpuDevice]:
    """Devices from ``nvidia-smi -L``: MIG instances where a GPU is partitioned, else the GPU.

    A partitioned GPU cannot run work outside its MIG instances, so only the instances are
    offered for such a GPU.
    """
    devices: list[GpuDevice] = []
    gpu: GpuDevice | None = None
    migs: list[GpuDevice] = []

    def flush() -> None:
        if gpu is not None:
            devices.extend(migs or [gpu])

    for line in text.splitlines():
        gpu_match = _GPU_LINE.match(line)
        if gpu_match:
            flush()
            gpu = GpuDevice(gpu_match["uuid"], gpu_match["name"])
            migs = []
            continue
        mig_match = _MIG_LINE.match(line)
        if mig_match and gpu is not None:
            memory = _MIG_MEMORY.search(mig_match["profile"])
            migs.append(
                GpuDevice(
                    mig_match["uuid"],
                    f"{gpu.name} MIG {mig_match['profile']}",
                    int(memory["gb"]) * 1024 if memory else None,
                )
            )
    flush()
    return devices


def parse_nvidia_smi_memory(text: str) -> dict[str, int]:
    """Total memory in MiB by GPU UUID, from ``--query-gpu=uuid,memory.total`` CSV."""
    memory: dict[str, int] = {}
    for line in text.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 2 and parts[0].startswith("GPU-") and parts[1].isdigit():
            memory[parts[0]] = int(parts[1])
    return memory


class GpuPool(SingletonConfigurable):
    """Least-load assignment of GPU devices to student servers, a few students per device."""

    max_students_per_device = Integer(
        4,
        help="How many student servers may share one GPU or MIG instance at a time.",
    ).tag(config=True)

    memory_fraction = Float(
        help=(
            "Share of a device's memory each student may allocate; defaults to "
            "1 / max_students_per_device so that full devices cannot run out of memory."
        ),
    ).tag(config=True)

    devices = List(
        Unicode(),
        help=(
            "Device UUIDs (GPU-… or MIG-…) to use when nvidia-smi is not on the hub's PATH, "
            "e.g. when the hub runs in a container without the NVIDIA tools."
        ),
    ).tag(config=True)

    nvidia_smi = Unicode("nvidia-smi", help="The nvidia-smi executable.").tag(config=True)

    @default("memory_fraction")
    def _default_fraction(self) -> float:
        return round(1.0 / self.max_students_per_device, 4)

    @validate("memory_fraction")
    def _check_fraction(self, proposal: Mapping[str, float]) -> float:
        value = proposal["value"]
        if not 0 < value <= 1:
            raise ValueError(f"GpuPool.memory_fraction must be in (0, 1], got {value}")
        return value

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._inventory: list[GpuDevice] | None = None
        self._assignments: dict[str, GpuAssignment] = {}

    @property
    def inventory(self) -> list[GpuDevice]:
        """The devices to share: from nvidia-smi where present, else from :attr:`devices`."""
        if self._inventory is None:
            self._inventory = self.discover()
        return self._inventory

    def discover(self) -> list[GpuDevice]:
        """Ask nvidia-smi for the devices, falling back to the configured UUIDs."""
        executable = shutil.which(self.nvidia_smi)
        if executable is None:
            return [GpuDevice(uuid, uuid) for uuid in self.devices]
        listing = subprocess.run(
            [executable, "-L"], capture_output=True, text=True, check=True, timeout=30
        ).stdout
        query = subprocess.run(
            [
                executable,
                "--query-gpu=uuid,memory.total",
                "--format=csv,noheader,nounits",
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout
        memory = parse_nvidia_smi_memory(query)
        return [
            GpuDevice(d.uuid, d.name, d.memory_mib or memory.get(d.uuid))
            for d in parse_nvidia_smi_list(listing)
        ]

    def load(self) -> dict[str, int]:
        """How many students each device serves now, by UUID (idle devices included)."""
        counts = {device.uuid: 0 for device in self.inventory}
        for assignment in self._assignments.values():
            counts[assignment.device.uuid] = counts.get(assignment.device.uuid, 0) + 1
        return counts

    def free_slots(self) -> int:
        """Slots left across all devices: zero means GPU profiles should be offered as full."""
        load = self.load()
        return sum(
            max(0, self.max_students_per_device - load[device.uuid]) for device in self.inventory
        )

    def assignment(self, owner: str) -> GpuAssignment | None:
        """The slot ``owner`` holds, if any."""
        return self._assignments.get(owner)

    def assign(self, owner: str) -> GpuAssignment:
        """Give ``owner`` (a user's server) the least-loaded device with a free slot.

        Asking again for an owner that already holds a slot returns the same slot, so a
        retried spawn never takes a second one.
        """
        held = self._assignments.get(owner)
        if held is not None:
            return held
        load = self.load()
        candidates = [d for d in self.inventory if load[d.uuid] < self.max_students_per_device]
        if not candidates:
            raise NoGpuAvailable(
                f"所有 GPU 都已满（{len(self.inventory)} 个设备，每个最多 "
                f"{self.max_students_per_device} 人），请选择 CPU 环境 / every GPU is full, "
                "please choose the CPU environment"
            )
        device = min(candidates, key=lambda d: load[d.uuid])
        assignment = GpuAssignment(owner, device, self.memory_fraction)
        self._assignments[owner] = assignment
        self.log.info("GPU %s assigned to %s", device.uuid, owner)
        self.publish()
        return assignment

    def release(self, owner: str) -> None:
        """Free ``owner``'s slot (when their server stops); unknown owners are ignored."""
        if self._assignments.pop(owner, None) is not None:
            self.log.info("GPU slot of %s released", owner)
            self.publish()

    def restore(self, container_labels: Iterable[Mapping[str, str]]) -> int:
        """Rebuild assignments from running containers' labels; return how many were found.

        A container on a device that is no longer in the inventory still counts against a
        device of that UUID, so a restarted hub never hands its slot to someone else.
        """
        by_uuid = {device.uuid: device for device in self.inventory}
        restored = 0
        for labels in container_labels:
            uuid, owner = labels.get(DEVICE_LABEL), labels.get(OWNER_LABEL)
            if not uuid or not owner:
                continue
            device = by_uuid.get(uuid, GpuDevice(uuid, uuid))
            fraction = float(labels.get(FRACTION_LABEL, self.memory_fraction))
            self._assignments[owner] = GpuAssignment(owner, device, fraction)
            restored += 1
        self.publish()
        return restored

    def publish(self) -> None:
        """Show each device's slots and those in use on ``/hub/metrics`` (:mod:`hub.hub_metrics`).

        Called on every change, so a scrape reads the pool without touching it.
        """
        for uuid, count in self.load().items():
            GPU_SLOTS_IN_USE.labels(uuid).set(count)
            GPU_SLOTS.labels(uuid).set(self.max_students_per_device)
