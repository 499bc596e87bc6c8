"""Cap this kernel's share of GPU memory at the fraction the hub's GpuPool granted.

Several students share one GPU (or MIG instance); without a cap the first kernel that trains a
large model takes all the memory and the others fail with out-of-memory errors. The hub passes the
fraction as ``AICLASS_GPU_MEMORY_FRACTION``; CPU containers have no such variable and never pay for
importing torch here.
"""

import os


def cap_gpu_memory() -> None:
    """Apply the granted fraction to every visible CUDA device, if one was granted."""
    fraction = os.environ.get("AICLASS_GPU_MEMORY_FRACTION")
    if not fraction:
        return
    import torch

    if not torch.cuda.is_available():
        return
    for device in range(torch.cuda.device_count()):
        torch.cuda.set_per_process_memory_fraction(float(fraction), device)


cap_gpu_memory()
