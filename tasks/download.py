"""Download a file with a progress bar, and unpack a tarball without letting paths escape."""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import urllib.request
from pathlib import Path

from zoo import ZooError
from zoo.files import atomic_path, clean_leftovers


def fetch(url: str, dest: Path, *, timeout: float = 60.0) -> Path:
    """Stream ``url`` to ``dest``. A partial file never takes the final name (zoo.files.atomic_path),
    so a killed download is simply started again on the next run, which also removes what it left."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

    dest.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(dest.parent, f".{dest.name}.*.part")
    columns = (
        TextColumn("download {task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    try:
        with atomic_path(dest) as part:
            with urllib.request.urlopen(url, timeout=timeout) as response, open(part, "wb") as out:
                total = int(response.headers.get("Content-Length") or 0) or None
                with Progress(*columns, transient=True) as progress:
                    bar = progress.add_task(dest.name, total=total)
                    for block in iter(lambda: response.read(1 << 20), b""):
                        out.write(block)
                        progress.advance(bar, len(block))
            if total is not None and part.stat().st_size != total:
                raise ZooError(f"download of {url} stopped at {part.stat().st_size} of {total} bytes. Fix: run again.")
    except OSError as exc:
        raise ZooError(
            f"cannot download {url}: {exc}. Fix: check the network, or point ZOO_DATA_DIR "
            f"(or --data-dir) at a local copy of the data."
        ) from exc
    return dest


def safe_extract(archive: Path, target: Path) -> None:
    """Unpack ``archive`` into ``target`` atomically.

    The stdlib's ``data`` filter refuses ``..``, links that leave the target and device files. It strips
    the leading ``/`` of an absolute member instead of refusing it, which would make ``/stability/x`` look
    like the task's folder, so an absolute member is refused here first.
    The archive is unpacked beside ``target`` and renamed into place, so a killed
    extraction leaves no half-filled directory behind.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        with tarfile.open(archive) as tar:
            absolute = next((m.name for m in tar.getmembers() if m.name.startswith(("/", "\\"))), None)
            if absolute:
                raise tarfile.TarError(f"it holds an absolute path, {absolute!r}, which no dataset archive needs")
            tar.extractall(staging, filter="data")
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ZooError(f"cannot unpack {archive}: {exc}. Fix: delete it so it is downloaded again.") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
