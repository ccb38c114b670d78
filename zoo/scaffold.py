"""`zoo plugin new NAME [--task]`: write a working plugin package (entry point, a model or a task,
and a test that passes)."""

from __future__ import annotations

from pathlib import Path
from string import Template

from zoo import ZooError
from zoo.plugins import check_name

PYPROJECT = Template("""\
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "zoo-$name"
version = "0.1.0"
description = "A protein-zoo model plugin: $name"
requires-python = ">=3.10"
dependencies = ["protein-zoo", "numpy"]

[project.optional-dependencies]
test = ["pytest"]

# This line is what makes protein-zoo find the plugin.
[project.entry-points.protein_zoo]
$name = "$module.plugin"

[tool.setuptools]
packages = ["$module"]
""")

PLUGIN = Template('''\
"""protein-zoo plugin: $name.

Replace MeanPerPosition with your model. Keep this module cheap to import: import torch and
other heavy libraries inside the factory or the model's methods, never at the top.
"""

from __future__ import annotations

import numpy as np

from zoo import hookimpl
from zoo.contract import Option


class MeanPerPosition:
    """A simple additive model: each (position, amino acid) gets the mean target of the training
    sequences that carry it; a prediction averages those over the sequence."""

    def __init__(self, shrinkage: float):
        self.shrinkage = shrinkage
        self.params = {"shrinkage": shrinkage}  # recorded in MLflow as hp.* params
        self.table = None

    def fit(self, train, valid):
        sums, counts = {}, {}
        for seq, y in zip(train.sequences, train.targets):
            for key in enumerate(seq):
                sums[key] = sums.get(key, 0.0) + y
                counts[key] = counts.get(key, 0) + 1
        self.mean = float(np.mean(train.targets))
        k = self.shrinkage
        self.table = {key: (sums[key] + k * self.mean) / (counts[key] + k) for key in sums}

    def predict(self, sequences):
        if self.table is None:
            raise RuntimeError("call fit() before predict()")
        return np.array([np.mean([self.table.get(key, self.mean) for key in enumerate(seq)])
                         for seq in sequences], dtype=np.float64)


def make_model(*, task, seed, profile, options, progress=None):
    return MeanPerPosition(shrinkage=float(options["shrinkage"]))


@hookimpl
def register_models(register):
    register("$name", make_model, pretrained=False, deterministic=True,
             description="per-position mean target (a template to replace)",
             options={"shrinkage": Option(5.0, float, minimum=0)})
''')

TEST = Template("""\
from zoo.testing import check_model

from $module.plugin import make_model


def test_model_passes_the_kit():
    check_model(make_model, {"shrinkage": 5.0}, min_spearman=0.3)
""")

README = Template("""\
# zoo-$name

A protein-zoo model plugin (see protein-zoo's docs/writing-a-plugin.md).

    pip install -e .
    zoo plugins                                  # $name is listed
    zoo tasks                                    # the tasks it can run on
    zoo eval --model $name --task TASK           # tracked in MLflow
    python -m pytest                             # the plugin's own tests, with zoo.testing
""")


TASK_PLUGIN = Template('''\
"""protein-zoo task plugin: $name.

The data is one CSV with the columns sequence,target,split (split: train, valid or test), read
and checked by zoo.taskfile.read_csv. It is looked for in $$ZOO_DATA_DIR/$name/$name.csv (or
--data-dir), else in the package's own data/ folder: replace data/$name.csv with your assay.
"""

from __future__ import annotations

from pathlib import Path

from zoo import TaskData, hookimpl
from zoo.cache import file_digest
from zoo.taskfile import read_csv

PACKAGED = Path(__file__).parent / "data" / "$name.csv"


def load(*, data_dir=None) -> TaskData:
    local = Path(data_dir) / "$name" / "$name.csv" if data_dir else None
    path = local if local is not None and local.exists() else PACKAGED
    splits = read_csv(path)
    # files: every file read, with its sha256; a changed file changes the digest, so `zoo eval` reruns
    return TaskData(splits["train"], splits["valid"], splits["test"], files={str(path): file_digest(path)})


@hookimpl
def register_tasks(register):
    register("$name", load, description="$name assay (replace data/$name.csv)", source="your lab")
''')

TASK_TEST = Template("""\
from zoo.testing import check_task

from $module.plugin import load


def test_task_passes_the_kit():
    check_task(load)
""")


def _example_rows() -> str:
    """A small synthetic assay for the task scaffold, so its test passes before real data goes in."""
    from zoo.testing import tiny_task

    task = tiny_task(n_train=80, n_valid=20, n_test=30)
    lines = ["sequence,target,split"]
    for split in ("train", "valid", "test"):
        part = getattr(task, split)
        lines += [f"{s},{y:.4f},{split}" for s, y in zip(part.sequences, part.targets)]
    return "\n".join(lines) + "\n"


def new_plugin(name: str, parent: Path, task: bool = False) -> Path:
    check_name(name, "plugin")  # the registry's own rule: the name becomes a model or task name
    module = "zoo_" + name.replace("-", "_").replace(".", "_")
    if parent.exists() and not parent.is_dir():
        raise ZooError(f"--dir {parent}: that is a file. Fix: give a folder to create the package in.")
    root = parent / f"zoo-{name}"
    if root.exists():
        raise ZooError(f"{root} already exists. Fix: choose another name or remove it.")
    files = {"pyproject.toml": PYPROJECT, f"{module}/__init__.py": Template(""), "README.md": README}
    if task:
        files.update({f"{module}/plugin.py": TASK_PLUGIN, "tests/test_plugin.py": TASK_TEST})
    else:
        files.update({f"{module}/plugin.py": PLUGIN, "tests/test_plugin.py": TEST})
    for rel, template in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(template.substitute(name=name, module=module))
    if task:
        (root / module / "data").mkdir()
        (root / module / "data" / f"{name}.csv").write_text(_example_rows())
        pyproject = root / "pyproject.toml"
        pyproject.write_text(
            pyproject.read_text().replace("model plugin", "task plugin")
            + f'\n[tool.setuptools.package-data]\n{module} = ["data/*.csv"]\n'
        )
        readme = root / "README.md"
        readme.write_text(
            readme.read_text()
            .replace("model plugin", "task plugin")
            .replace(f"zoo eval --model {name} --task TASK", f"zoo eval --task {name} --model linear")
        )
    return root
