"""The repository stays light: no training state in git (.ci/check_sizes.py, run by CI)."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _checker():
    spec = importlib.util.spec_from_file_location("check_sizes", ROOT / ".ci" / "check_sizes.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _repo(tmp_path: Path, files: dict[str, int]) -> Path:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    for name, size in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\0" * size)
    subprocess.run(["git", "add", "."], cwd=tmp_path, check=True)
    return tmp_path


def test_a_committed_checkpoint_fails_the_size_check(tmp_path):
    repo = _repo(tmp_path, {"checkpoints/job/checkpoint.pt": 3_000_000, "leaderboard/runs/a.npz": 3_000_000})
    found = _checker().problems(repo)
    assert len(found) == 1 and found[0].startswith("checkpoints/job/checkpoint.pt is 3.0 MB")


def test_a_bundle_over_its_budget_fails_the_size_check(tmp_path):
    repo = _repo(tmp_path, {f"leaderboard/runs/p{i}.npz": 1_900_000 for i in range(32)})
    assert _checker().problems(repo) == [
        "leaderboard/runs/ is 60.8 MB, over its 60 MB budget: export only the runs the page uses"
    ]


def test_this_repository_passes_the_size_check():
    assert _checker().problems(ROOT) == []
    assert (
        not (ROOT / "checkpoints").exists()
        or not subprocess.run(["git", "ls-files", "checkpoints"], cwd=ROOT, capture_output=True, text=True).stdout
    )
