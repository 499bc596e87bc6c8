"""Device check for a GPU server: a real student-gpu container trains one batch on its share.

Run on the center's GPU machine after ``aiclass images build --gpu`` (needs Docker with the
NVIDIA container toolkit)::

    .venv/bin/python images/gpu-check.py [--students-per-device 4]

It takes the device a :class:`hub.gpu.GpuPool` would hand out (from ``nvidia-smi``), starts the
student-gpu image with the same hardening docker mode uses, executes a notebook through a real
Jupyter kernel (so the kernel startup file applies the memory share), trains one batch of a
small CNN on the GPU, and checks that allocating beyond the share fails. Exit status 0 means
the GPU profile works on this machine. It is not run in CI, which has no GPU.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hub.images import image_reference  # noqa: E402
from hub.spawners.gpu import GpuPool  # noqa: E402

CHECK_CELL = """\
import json, torch
assert torch.cuda.is_available(), "CUDA not visible in the container"
device = torch.device("cuda")
model = torch.nn.Sequential(
    torch.nn.Conv2d(1, 8, 3),
    torch.nn.ReLU(),
    torch.nn.Flatten(),
    torch.nn.Linear(8 * 26 * 26, 10),
).to(device)
optimiser = torch.optim.SGD(model.parameters(), lr=0.1)
images = torch.randn(64, 1, 28, 28, device=device)
labels = torch.randint(0, 10, (64,), device=device)
loss = torch.nn.functional.cross_entropy(model(images), labels)
optimiser.zero_grad(); loss.backward(); optimiser.step()
total = torch.cuda.get_device_properties(0).total_memory
try:
    torch.empty(int(total * 0.9), dtype=torch.uint8, device=device)
    over_share_refused = False
except torch.OutOfMemoryError:
    over_share_refused = True
print(json.dumps({"loss": float(loss), "device": torch.cuda.get_device_name(0),
                  "over_share_refused": over_share_refused}))
"""


def notebook() -> dict:
    return {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {},
                "source": CHECK_CELL,
                "outputs": [],
                "execution_count": None,
            }
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students-per-device", type=int, default=4)
    parser.add_argument("--image", default=image_reference("student-gpu"))
    args = parser.parse_args()

    pool = GpuPool(max_students_per_device=args.students_per_device)
    print("inventory:", [(d.uuid, d.name, d.memory_mib) for d in pool.inventory])
    slot = pool.assign("gpu-check")
    env = slot.environment()
    with tempfile.TemporaryDirectory() as work:
        Path(work, "check.ipynb").write_text(json.dumps(notebook()))
        Path(work).chmod(0o777)
        command = [
            "docker",
            "run",
            "--rm",
            "--network",
            "none",
            "--user",
            "1000:1000",
            "--cap-drop",
            "ALL",
            "--security-opt",
            "no-new-privileges:true",
            "--gpus",
            f"device={slot.device.uuid}",
            *[flag for key, value in env.items() for flag in ("-e", f"{key}={value}")],
            "-v",
            f"{work}:/work",
            "--workdir",
            "/work",
            "--entrypoint",
            "jupyter",
            args.image,
            "nbconvert",
            "--to",
            "notebook",
            "--execute",
            "--stdout",
            "check.ipynb",
        ]
        result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        print(result.stderr, file=sys.stderr)
        return 1
    executed = json.loads(result.stdout)
    text = executed["cells"][0]["outputs"][0]["text"]
    output = json.loads("".join(text) if isinstance(text, list) else text)
    print(f"device {slot.device.uuid} share {slot.memory_fraction}: {output}")
    return 0 if output["over_share_refused"] else 1


if __name__ == "__main__":
    sys.exit(main())
