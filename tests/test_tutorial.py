"""docs/writing-a-plugin.md followed literally: every bash block runs, in order, in a temporary folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def bash_blocks(path: Path) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", path.read_text(), flags=re.S)


def run_script(script: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + script], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def offline_env(tmp_path: Path, subset_dir: Path) -> dict:
    env = dict(os.environ)
    env.update(
        {
            "ZOO_DATA_DIR": str(subset_dir),
            "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}",
            # tests never use the network: build with the setuptools already installed
            "PIP_NO_INDEX": "1",
            "PIP_NO_BUILD_ISOLATION": "0",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "COLUMNS": "200",
        }
    )
    return env


def test_tutorial_works_literally(tmp_path, subset_dir):
    blocks = bash_blocks(ROOT / "docs" / "writing-a-plugin.md")
    assert len(blocks) >= 6
    env = offline_env(tmp_path, subset_dir)
    try:
        result = run_script("\n".join(blocks), tmp_path, env)
    finally:
        subprocess.run(
            [sys.executable, "-m", "pip", "uninstall", "-y", "-q", "zoo-my-model", "zoo-my-assay"],
            env=env,
            capture_output=True,
        )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert re.search(r"my-model\s*│\s*0\.1\.0\s*│\s*my-model", out)  # zoo plugins lists it
    assert out.count("my-model/fluorescence/seed0") >= 2  # evaluated twice (default and -o shrinkage=20)
    assert "1 passed" in out  # the scaffold's own test, with the kit
    assert (tmp_path / "zoo-my-model" / "zoo_my_model" / "plugin.py").exists()
    runs = subprocess.run(
        [
            sys.executable,
            "-c",
            (
                "from zoo.tracking import Tracker; rs = Tracker().job_runs(); "
                "print(sorted((r['params.option.shrinkage'], r['tags.outcome']) for r in rs "
                "if r['tags.model'] == 'my-model'));"
                "print('assay', sorted((r['tags.model'], r['tags.outcome']) for r in rs "
                "if r['tags.task'] == 'my-assay'))"
            ),
        ],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert "('20.0', 'ok')" in runs.stdout and "('5.0', 'ok')" in runs.stdout, runs.stdout + runs.stderr
    assert "assay [('linear', 'ok')]" in runs.stdout  # the task scaffold, evaluated as the docs say


def test_example_package_installs_and_runs(tmp_path, subset_dir):
    """docs/examples/zoo-knn: pip-installed into a target folder, its own tests, then through zoo eval."""
    env = offline_env(tmp_path, subset_dir)
    site = tmp_path / "site"
    example = ROOT / "docs" / "examples" / "zoo-knn"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(example)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr
    env["PYTHONPATH"] = str(site)
    own_tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(example / "tests")],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert "4 passed" in own_tests.stdout, own_tests.stdout + own_tests.stderr
    evaluated = subprocess.run(
        ["zoo", "eval", "--model", "knn", "--task", "stability", "-o", "k=5"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert evaluated.returncode == 0, evaluated.stdout + evaluated.stderr
    assert "knn/stability/seed0" in evaluated.stdout and "1 ok" in evaluated.stdout
