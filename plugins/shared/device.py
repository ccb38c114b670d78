"""Where the built-in plugins run torch: a GPU when this process can see one (Ray gives each GPU
job its own through CUDA_VISIBLE_DEVICES), else the CPU. ``ZOO_DEVICE`` (cpu, cuda, cuda:1)
overrides."""

from __future__ import annotations

import os

# Ray resources for one torch job (--executor ray); a CPU-only cluster gets no GPU request.
GPU_JOB = {"cpus": 2, "gpus": 1}


def pick():
    import torch

    from zoo import ZooError

    name = os.environ.get("ZOO_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ZooError(
            f"ZOO_DEVICE={name}, but torch sees no GPU here (torch {torch.__version__}). "
            f"Fix: unset ZOO_DEVICE, or install a CUDA build of torch on a GPU machine."
        )
    return torch.device(name)
