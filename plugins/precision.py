"""``-o precision=auto|bf16|fp32`` for the torch models: bf16 autocast where the hardware has it.

``auto`` picks bf16 where the hardware computes it natively (a CUDA GPU that supports it; a CPU with
AMX or AVX-512 BF16), where bench/precision.py measured it paying, and fp32 elsewhere. The choice is
recorded as ``hp.precision``. Weights, optimizer state and the loss stay in fp32 (autocast).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from zoo.contract import Option  # torch is imported inside the functions: registration stays torch-free

CHOICES = ("auto", "bf16", "fp32")
OPTION = Option("fp32", str, help="auto | bf16 | fp32: bf16 autocast where the hardware has it (auto)")


def native_bf16(device: Any) -> bool:
    import torch

    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def resolve(choice: str, device: Any) -> str:
    from zoo import ZooError

    if choice not in CHOICES:
        raise ZooError(f"-o precision={choice}: choose one of {', '.join(CHOICES)}")
    if choice == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    return choice


def autocast(precision: str, device: Any):
    """The forward pass's precision context (fp32: nothing changes)."""
    if precision != "bf16":
        return contextlib.nullcontext()
    import torch

    return torch.autocast(device.type, dtype=torch.bfloat16)


def train_step(optimizer: Any, forward: Any, target: Any, precision: str, device: Any) -> float:
    """One optimizer step on the MSE loss: ``forward()`` under autocast, the loss in fp32. The one
    training step the CNN and the fine-tuned models share; returns the loss."""
    import torch

    with autocast(precision, device):
        out = forward()
    loss = torch.nn.functional.mse_loss(out.float(), target)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return float(loss.item())
