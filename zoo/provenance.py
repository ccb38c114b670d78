"""Where a result came from: the code's git commit and the machine."""

from __future__ import annotations

import os
import platform
import subprocess
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(Path(__file__).resolve().parent), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 else "unknown"


@lru_cache(maxsize=1)
def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.machine()}, no GPU"
        if not _has_gpu()
        else f"{cpu}, {os.cpu_count()} cores, GPU"
    )


def _has_gpu() -> bool:
    # checking the driver avoids importing torch just to describe the machine
    return Path("/proc/driver/nvidia/gpus").exists()
