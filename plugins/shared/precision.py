"""``-o precision=auto|bf16|fp32`` for the torch models: bf16 autocast where the hardware has it.

``auto`` keeps fp32 where the hardware has no native bf16 (a CUDA GPU that supports it; a CPU with
AMX or AVX-512 BF16). Where it has, the job times a few training steps of its own net in each
precision, on copies, and keeps bf16 only if it was faster: native support is not enough
(bench/precision.py: the stability paper CNN ran 1.23x in bf16 on the 2-core EPYC, but 0.89x on an
H100, where so small a net is bound by kernel launches). The choice is recorded as
``hp.precision``. Weights, optimizer state and the loss stay in fp32 (autocast).
"""

from __future__ import annotations

import contextlib
import math
import time
from pathlib import Path
from typing import Any, Callable

from zoo.contract import Option  # torch is imported inside the functions: registration stays torch-free

CHOICES = ("auto", "bf16", "fp32")
OPTION = Option(
    "fp32", str, help="auto | bf16 | fp32: bf16 autocast where the hardware has it and it pays (auto)", choices=CHOICES
)


def native_bf16(device: Any) -> bool:
    import torch

    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def resolve(choice: str, device: Any, step: Callable[[str], Any] | None = None) -> str:
    """``-o precision`` for one job. ``step(precision)``: one training step on a copy of the job's
    net; with it, ``auto`` on bf16 hardware keeps whichever precision ran faster."""
    from zoo import ZooError

    if choice not in CHOICES:
        raise ZooError(f"-o precision={choice}: choose one of {', '.join(CHOICES)}")
    if choice == "auto":
        if not native_bf16(device):
            return "fp32"
        return faster(step, device) if step is not None else "bf16"
    return choice


def faster(step: Callable[[str], Any], device: Any, rounds: int = 3) -> str:
    """The precision whose training step took less time: one warm-up each, then the best of
    ``rounds``, the two interleaved so that both see the same machine load. The RNG state is
    restored afterwards, so that the job trains exactly as it would have without the probe."""
    import torch

    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)  # GPU work is asynchronous
    best = {"fp32": math.inf, "bf16": math.inf}
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        for round_ in range(rounds + 1):
            for precision in best:
                sync()
                start = time.perf_counter()
                step(precision)
                sync()
                if round_:
                    best[precision] = min(best[precision], time.perf_counter() - start)
    return "bf16" if best["bf16"] < best["fp32"] else "fp32"


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
