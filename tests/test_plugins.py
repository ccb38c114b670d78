"""Discovery through real entry points, broken plugins, selection, and the import-weight promise."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from zoo import ZooError, hookimpl
from zoo.plugins import build, discover
from zoo.runner import plan


def make_dist(root, name: str, module_source: str) -> None:
    """An installed distribution on sys.path with one protein_zoo entry point."""
    (root / f"{name}.py").write_text(textwrap.dedent(module_source))
    info = root / f"{name}-0.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.3\n")
    (info / "entry_points.txt").write_text(f"[protein_zoo]\n{name} = {name}\n")


GOOD = """
from zoo import hookimpl

class Mean:
    def fit(self, train, valid):
        self.value = float(train.targets.mean())
    def predict(self, sequences):
        import numpy as np
        return np.full(len(sequences), self.value)

@hookimpl
def register_models(register):
    register("mean-baseline", lambda **kw: Mean(), pretrained=False, description="predicts the train mean")
"""


def test_builtins_register_through_entry_points():
    registry = discover()
    assert {"linear", "cnn"} <= set(registry.models)
    assert {"fluorescence", "stability"} <= set(registry.tasks)
    assert registry.models["linear"].plugin == "linear"
    assert registry.models["linear"].pretrained is False
    assert registry.models["cnn"].version == "0.1.0"
    assert not registry.broken


def test_broken_plugin_is_reported_and_others_still_load(tmp_path, monkeypatch):
    make_dist(tmp_path, "zoo_broken_pkg", "raise ImportError('no module named torchvision_extra')\n")
    make_dist(tmp_path, "zoo_good_pkg", GOOD)
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = discover()
    broken = registry.plugins["zoo_broken_pkg"]
    assert broken.error
    assert "Error importing plugin 'zoo_broken_pkg'" in broken.error
    assert "torchvision_extra" in broken.error and "ZOO_LOAD_PLUGINS" in broken.error
    assert registry.models["mean-baseline"].plugin == "zoo_good_pkg"
    assert registry.models["mean-baseline"].version == "0.3"
    assert "linear" in registry.models


def test_load_plugins_env_selects(monkeypatch):
    monkeypatch.setenv("ZOO_LOAD_PLUGINS", "linear, tape-tasks")
    registry = discover()
    assert set(registry.models) == {"linear", "linear-pairwise", "global-epistasis"}  # the linear plugin's only
    assert set(registry.plugins) == {"linear", "tape-tasks"}
    monkeypatch.setenv("ZOO_LOAD_PLUGINS", "")
    assert discover().plugins == {}
    monkeypatch.setenv("ZOO_LOAD_PLUGINS", "linaer")
    assert "Did you mean 'linear'" in discover().plugins["linaer"].error


class Misspelled:
    @hookimpl
    def register_model(self, register):  # missing the s
        register("x", lambda **kw: None, pretrained=False)


class Raises:
    @hookimpl
    def register_models(self, register):
        raise RuntimeError("weights folder missing")


class Duplicate:
    @hookimpl
    def register_models(self, register):
        register("linear", lambda **kw: None, pretrained=False)
        register("copycat-own", lambda **kw: None, pretrained=False)


class OneGood:
    @hookimpl
    def register_models(self, register):
        register("fine", lambda **kw: None, pretrained=True, description="ok")


def test_misspelled_hook_names_the_real_one():
    registry = build([("typo", "1", Misspelled()), ("fine", "1", OneGood())])
    assert "unknown hook 'register_model'. Did you mean 'register_models'?" in registry.plugins["typo"].error
    assert set(registry.models) == {"fine"}


def test_hook_raising_is_isolated():
    registry = build([("bad", "1", Raises()), ("fine", "1", OneGood())])
    assert "raised in register_models: RuntimeError: weights folder missing" in registry.plugins["bad"].error
    assert registry.models["fine"].pretrained is True


@pytest.mark.parametrize("order", ["builtin first", "impostor first"])
def test_a_name_claimed_twice_runs_for_neither_plugin(order):
    """Issue 10.2: an impostor registering 'linear' once knocked out the built-in whenever it sorted first."""
    import zoo_plugins.linear.plugin as linear

    plugins = [("linear", "0.1.0", linear), ("copycat", "2", Duplicate())]
    registry = build(plugins if order == "builtin first" else plugins[::-1])
    assert "linear" not in registry.models and not registry.broken  # neither plugin is blamed as broken
    assert "copycat-own" in registry.models  # the impostor's other models still load
    with pytest.raises(ZooError) as err:
        registry.model("linear")
    assert "claimed by plugin 'linear' 0.1.0 and plugin 'copycat' 2" in str(err.value).replace(
        "plugin 'copycat' 2 and plugin 'linear' 0.1.0", "plugin 'linear' 0.1.0 and plugin 'copycat' 2"
    )
    assert "ZOO_LOAD_PLUGINS=-" in str(err.value) and ".." not in str(err.value)
    with pytest.raises(ZooError, match="claimed by"):
        plan(registry, ["linear"], [])


def test_the_job_key_names_the_plugin_and_its_version():
    from zoo.runner import Job

    a = Job("linear", "stability", 0, "default", False, plugin="linear", plugin_version="0.1.0")
    b = Job("linear", "stability", 0, "default", False, plugin="copycat", plugin_version="0.1.0")
    c = Job("linear", "stability", 0, "default", False, plugin="linear", plugin_version="0.2.0")
    assert len({a.key("d"), b.key("d"), c.key("d")}) == 3


class PathLike:
    @hookimpl
    def register_tasks(self, register):
        register("../escape", lambda **kw: None)  # would name a figure outside the leaderboard folder


def test_names_that_could_escape_a_folder_are_refused():
    registry = build([("pathlike", "1", PathLike())])
    assert "task name '../escape' is not allowed" in registry.plugins["pathlike"].error
    assert "../escape" not in registry.tasks


def test_unknown_model_suggests_close_name():
    registry = discover()
    with pytest.raises(ZooError, match="Did you mean 'linear'"):
        registry.model("lineer")


@pytest.mark.parametrize("args", [["--help"], ["plugins"], ["tasks"], ["eval", "--help"]])
def test_light_commands_import_no_torch_or_mlflow(args):
    code = textwrap.dedent(f"""
        import sys
        from zoo.cli import main
        try:
            main({args!r})
        except SystemExit:
            pass
        heavy = sorted(m for m in ("torch", "mlflow", "esm", "tape", "sklearn", "pandas") if m in sys.modules)
        print("HEAVY", heavy)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "HEAVY []" in out.stdout, out.stdout + out.stderr


def test_zoo_plugins_table_shows_broken_plugin(tmp_path, monkeypatch, capsys):
    from zoo.cli import main

    make_dist(tmp_path, "zoo_broken_pkg", "import torchvision_extra\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("COLUMNS", "250")
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "zoo_broken_pkg" in out and "broken" in out and "No module named 'torchvision_extra'" in out
    assert "linear" in out and "fluorescence" in out


def test_scaffold_refuses_bad_names_and_existing_folders(tmp_path):
    from zoo.scaffold import new_plugin

    with pytest.raises(ZooError, match="is not allowed: use lowercase"):
        new_plugin("My Model", tmp_path)
    root = new_plugin("ok-name", tmp_path)
    assert (root / "zoo_ok_name" / "plugin.py").exists()
    assert 'ok-name = "zoo_ok_name.plugin"' in (root / "pyproject.toml").read_text()
    with pytest.raises(ZooError, match="already exists"):
        new_plugin("ok-name", tmp_path)


class RaisesInTasks:
    @hookimpl
    def register_models(self, register):
        register("half-model", lambda **kw: None, pretrained=False)

    @hookimpl
    def register_tasks(self, register):
        raise KeyError("data folder")


def test_a_failing_hook_sidelines_the_whole_plugin():
    registry = build([("half", "1", RaisesInTasks()), ("fine", "1", OneGood())])
    assert "raised in register_tasks" in registry.plugins["half"].error
    assert "half-model" not in registry.models and registry.plugins["half"].models == []
    assert "fine" in registry.models


def test_one_module_under_two_entry_points_is_reported():
    import zoo_plugins.linear.plugin as linear

    registry = build([("linear", "1", linear), ("linear-again", "1", linear)])
    assert "is the same object as plugin 'linear'" in registry.plugins["linear-again"].error
    assert registry.models["linear"].plugin == "linear"


def test_a_non_editable_install_ships_every_package():
    """`pip install .` (a wheel, not -e) must carry every subpackage: zoo.commands was once left out,
    so `zoo` failed with ModuleNotFoundError everywhere but in an editable checkout."""
    from pathlib import Path

    import tomllib

    root = Path(__file__).resolve().parents[1]
    config = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = set()
    for package, folder in config["package-dir"].items():
        for init in (root / folder).rglob("__init__.py"):
            found.add(".".join([package, *init.parent.relative_to(root / folder).parts]))
    assert found - listed == set()


def test_zoo_plugins_model_lists_its_options(monkeypatch, capsys):
    """`zoo plugins --model cnn`: every -o option with its default, type, bounds or choices and help,
    so a user can find `-o init=flax` without reading the source; an unknown model gets "did you mean"."""
    from zoo.cli import main

    monkeypatch.setenv("COLUMNS", "250")
    assert main(["plugins", "--model", "cnn"]) == 0
    out = capsys.readouterr().out
    for name in ("layers", "dilations", "lens", "precision", "init"):
        assert f"│ {name} " in out, name
    assert "flax, torch" in out and "auto, bf16, fp32" in out and ">= 1" in out
    assert "the paper's code" in out  # the option's help
    assert main(["plugins", "--model", "cnnn"]) == 2
    assert "Did you mean 'cnn'" in capsys.readouterr().err
