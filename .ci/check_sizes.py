#!/usr/bin/env python3
"""Fail when the repository carries training state or outgrows its budget.

Training state (checkpoints, caches, stores) must never be committed: every clone would carry it
forever. Two rules, on the files git tracks:
- no tracked file outside the results bundle is over 2 MB;
- the results bundle (leaderboard/runs/) stays under 60 MB.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

FILE_LIMIT = 2_000_000
BUNDLE = "leaderboard/runs/"
BUNDLE_LIMIT = 60_000_000


def problems(root: Path) -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True).stdout
    found, bundle = [], 0
    for name in filter(None, listed.decode().split("\0")):
        path = root / name
        if not path.is_file():
            continue
        size = path.stat().st_size
        if name.startswith(BUNDLE):
            bundle += size
        elif size > FILE_LIMIT:
            found.append(f"{name} is {size / 1e6:.1f} MB, over the 2 MB limit: training state and data stay out of git")
    if bundle > BUNDLE_LIMIT:
        found.append(f"{BUNDLE} is {bundle / 1e6:.1f} MB, over its 60 MB budget: export only the runs the page uses")
    return found


def main() -> int:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent
    found = problems(root)
    for line in found:
        print(f"size check: {line}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
