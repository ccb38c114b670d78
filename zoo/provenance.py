"""Where a result came from: the code's git commit and the machine."""

from __future__ import annotations

import os
import platform
import subprocess
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def git_commit() -> str:
    """The checkout's HEAD; for an installed wheel (no git beside it), ``ZOO_GIT_COMMIT`` if the
    installer set it, else "unknown"."""
    fallback = os.environ.get("ZOO_GIT_COMMIT", "unknown")
    try:
        out = subprocess.run(
            ["git", "-C", str(Path(__file__).resolve().parent), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return fallback
    return out.stdout.strip() if out.returncode == 0 else fallback


@lru_cache(maxsize=1)
def machine() -> str:
    return describe(Path("/proc"))


def describe(proc: Path) -> str:
    """``<cpu>, <n> cores, <system> <arch>, no GPU`` or ``<cpu>, <n> cores, GPU: <model>``: the GPU named,
    so that GPU and CPU results are published apart."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in (proc / "cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpus = _gpu_models(proc)
    if gpus is None:
        return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.machine()}, no GPU"
    return f"{cpu}, {os.cpu_count()} cores, GPU" + (f": {', '.join(gpus)}" if gpus else "")


def _gpu_models(proc: Path) -> list[str] | None:
    """The NVIDIA driver's model names (None: no GPU). Read from /proc, so describing the machine
    needs no torch import."""
    folder = proc / "driver" / "nvidia" / "gpus"
    if not folder.exists():
        return None
    models = []
    for info in sorted(folder.glob("*/information")):
        for line in info.read_text(errors="replace").splitlines():
            if line.startswith("Model:"):
                models.append(line.split(":", 1)[1].strip())
    return models
