"""`zoo plugin new NAME`: write a working plugin package (entry point, model, a passing test)."""

from __future__ import annotations

import re
from pathlib import Path
from string import Template

from zoo import ZooError

PYPROJECT = Template('''\
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
''')

PLUGIN = Template('''\
"""protein-zoo plugin: $name.

Replace MeanPerPosition with your model. Keep this module cheap to import: import torch and
other heavy libraries inside the factory or the model's methods, never at the top.
"""

from __future__ import annotations

import numpy as np

from zoo import hookimpl


class MeanPerPosition:
    """A simple additive model: each (position, amino acid) gets the mean target of the training
    sequences that carry it; a prediction averages those over the sequence."""

    def __init__(self, shrinkage: float):
        self.shrinkage = shrinkage
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
             options={"shrinkage": 5.0})
''')

TEST = Template('''\
from zoo.testing import check_model

from $module.plugin import make_model


def test_model_passes_the_kit():
    check_model(make_model, {"shrinkage": 5.0}, min_spearman=0.3)
''')

README = Template('''\
# zoo-$name

A [protein-zoo](https://github.com/) model plugin.

    pip install -e .
    zoo plugins                                  # $name is listed
    zoo eval --model $name --task fluorescence   # tracked in MLflow
    python -m pytest                             # the plugin's own tests, with zoo.testing
''')


def new_plugin(name: str, parent: Path) -> Path:
    if not re.fullmatch(r"[a-z][a-z0-9_-]*", name):
        raise ZooError(f"plugin name {name!r} must be lowercase letters, digits, '-' or '_', starting with a letter")
    module = "zoo_" + name.replace("-", "_")
    root = parent / f"zoo-{name}"
    if root.exists():
        raise ZooError(f"{root} already exists. Fix: choose another name or remove it.")
    files = {
        "pyproject.toml": PYPROJECT, f"{module}/__init__.py": Template(""), f"{module}/plugin.py": PLUGIN,
        "tests/test_plugin.py": TEST, "README.md": README,
    }
    for rel, template in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(template.substitute(name=name, module=module))
    return root
