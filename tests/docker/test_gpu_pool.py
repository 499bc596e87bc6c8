"""GpuPool on a fake inventory: least-load assignment, limits, release, restore, discovery.

No GPU and no Docker engine are needed; the nvidia-smi used for discovery is a small script
that prints what a real one prints on a partitioned A100 next to a whole H200.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hub.spawners.gpu import (
    DEVICE_LABEL,
    FRACTION_LABEL,
    OWNER_LABEL,
    GpuPool,
    NoGpuAvailable,
    parse_nvidia_smi_list,
    parse_nvidia_smi_memory,
)

REPO = Path(__file__).resolve().parents[2]

NVIDIA_SMI_L = """\
GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-5d5ba0d6-d33d-2b2d-d5a0-1e2d3b4c5d6e)
  MIG 3g.20gb     Device  0: (UUID: MIG-aaaaaaaa-1111-5555-9999-000000000001)
  MIG 2g.10gb     Device  1: (UUID: MIG-aaaaaaaa-1111-5555-9999-000000000002)
GPU 1: NVIDIA H200 (UUID: GPU-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0)
"""
NVIDIA_SMI_MEMORY = """\
GPU-5d5ba0d6-d33d-2b2d-d5a0-1e2d3b4c5d6e, 40960
GPU-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0, 143771
"""


def pool(devices: list[str], per_device: int = 2) -> GpuPool:
    """A pool over configured UUIDs, with discovery pointed at a missing nvidia-smi."""
    return GpuPool(
        devices=devices, max_students_per_device=per_device, nvidia_smi="no-such-nvidia-smi"
    )


def test_least_load_spreads_students_over_devices() -> None:
    gpus = pool(["GPU-a", "GPU-b", "GPU-c"])
    first = [gpus.assign(f"student{i}").device.uuid for i in range(3)]
    assert first == ["GPU-a", "GPU-b", "GPU-c"]
    assert gpus.assign("student3").device.uuid == "GPU-a"
    gpus.release("student1")
    assert gpus.load() == {"GPU-a": 2, "GPU-b": 0, "GPU-c": 1}
    assert gpus.assign("student9").device.uuid == "GPU-b"


def test_full_pool_tells_student_to_use_cpu() -> None:
    gpus = pool(["GPU-a", "GPU-b"], per_device=2)
    for i in range(4):
        gpus.assign(f"s{i}")
    assert gpus.free_slots() == 0
    assert gpus.load() == {"GPU-a": 2, "GPU-b": 2}
    with pytest.raises(NoGpuAvailable, match="CPU"):
        gpus.assign("late")
    gpus.release("s2")
    assert gpus.free_slots() == 1
    assert gpus.assign("late").device.uuid in {"GPU-a", "GPU-b"}


def test_assign_is_idempotent_per_owner() -> None:
    gpus = pool(["GPU-a", "GPU-b"])
    again = gpus.assign("alice")
    assert gpus.assign("alice") is again
    assert sum(gpus.load().values()) == 1


def test_release_of_unknown_owner_changes_nothing() -> None:
    gpus = pool(["GPU-a"])
    gpus.assign("alice")
    gpus.release("bob")
    assert gpus.load() == {"GPU-a": 1}


def test_memory_fraction_defaults_to_even_share_and_reaches_the_container() -> None:
    gpus = pool(["GPU-a"], per_device=4)
    slot = gpus.assign("alice")
    assert slot.memory_fraction == 0.25
    assert slot.environment()["AICLASS_GPU_MEMORY_FRACTION"] == "0.2500"
    assert slot.environment()["NVIDIA_VISIBLE_DEVICES"] == "GPU-a"
    assert slot.labels() == {
        DEVICE_LABEL: "GPU-a",
        FRACTION_LABEL: "0.2500",
        OWNER_LABEL: "alice",
    }
    with pytest.raises(Exception, match="memory_fraction"):
        GpuPool(devices=["GPU-a"], memory_fraction=1.5)


def test_restore_rebuilds_state_from_container_labels() -> None:
    before = pool(["GPU-a", "GPU-b"])
    labels = [before.assign(name).labels() for name in ("alice", "bob", "carol")]
    labels.append({"some.other": "label"})
    labels.append({DEVICE_LABEL: "GPU-gone", OWNER_LABEL: "dave", FRACTION_LABEL: "0.5"})

    after = pool(["GPU-a", "GPU-b"])
    assert after.restore(labels) == 4
    assert after.load() == before.load() | {"GPU-gone": 1}
    assert after.assignment("alice") == before.assignment("alice")
    assert after.assignment("dave").memory_fraction == 0.5
    # the restored slots count: only one free slot is left on the two devices
    assert after.free_slots() == 1
    after.assign("erin")
    with pytest.raises(NoGpuAvailable):
        after.assign("frank")


def test_nvidia_smi_listing_offers_mig_instances_instead_of_their_gpu() -> None:
    devices = parse_nvidia_smi_list(NVIDIA_SMI_L)
    assert [d.uuid for d in devices] == [
        "MIG-aaaaaaaa-1111-5555-9999-000000000001",
        "MIG-aaaaaaaa-1111-5555-9999-000000000002",
        "GPU-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
    ]
    assert devices[0].memory_mib == 20 * 1024
    assert devices[1].name == "NVIDIA A100-SXM4-40GB MIG 2g.10gb"
    assert parse_nvidia_smi_memory(NVIDIA_SMI_MEMORY) == {
        "GPU-5d5ba0d6-d33d-2b2d-d5a0-1e2d3b4c5d6e": 40960,
        "GPU-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0": 143771,
    }


def test_discovery_runs_nvidia_smi_when_present(tmp_path: Path) -> None:
    fake = tmp_path / "nvidia-smi"
    fake.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "-L" ]; then cat <<"EOF"\n'
        f"{NVIDIA_SMI_L}EOF\n"
        'else cat <<"EOF"\n'
        f"{NVIDIA_SMI_MEMORY}EOF\n"
        "fi\n"
    )
    fake.chmod(0o755)
    gpus = GpuPool(nvidia_smi=str(fake), devices=["GPU-ignored"])
    assert [d.uuid[:4] for d in gpus.inventory] == ["MIG-", "MIG-", "GPU-"]
    assert gpus.inventory[2].memory_mib == 143771
    assert "GPU-ignored" not in gpus.load()


def test_settings_inventory_is_used_without_nvidia_smi() -> None:
    gpus = pool(["MIG-x", "GPU-y"])
    assert [d.uuid for d in gpus.inventory] == ["MIG-x", "GPU-y"]
    assert pool([]).free_slots() == 0


def run_gpu_share(tmp_path: Path, fraction: str | None) -> list[str]:
    """Run the image's kernel startup file against a stand-in torch that reports a GPU."""
    fake_torch = tmp_path / "torch"
    fake_torch.mkdir(exist_ok=True)
    calls = tmp_path / "calls.txt"
    (fake_torch / "__init__.py").write_text(
        "class cuda:\n"
        "    is_available = staticmethod(lambda: True)\n"
        "    device_count = staticmethod(lambda: 2)\n"
        "    @staticmethod\n"
        "    def set_per_process_memory_fraction(fraction, device):\n"
        f"        open({str(calls)!r}, 'a').write(f'{{fraction}} {{device}}\\n')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    env.pop("AICLASS_GPU_MEMORY_FRACTION", None)
    if fraction is not None:
        env["AICLASS_GPU_MEMORY_FRACTION"] = fraction
    subprocess.run([sys.executable, str(REPO / "images/student/gpu_share.py")], env=env, check=True)
    return calls.read_text().splitlines() if calls.exists() else []


def test_kernel_startup_caps_memory_only_when_granted(tmp_path: Path) -> None:
    assert run_gpu_share(tmp_path, None) == []
    assert run_gpu_share(tmp_path, "0.2500") == ["0.25 0", "0.25 1"]
