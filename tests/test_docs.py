"""The docs must match the code: every hook with its exact signature, every CLI option."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from zoo import hookspecs
from zoo.cli import build_parser
from zoo.plugins import HOOKS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def hook_functions():
    return {
        name: fn for name, fn in vars(hookspecs).items() if inspect.isfunction(fn) and hasattr(fn, "protein_zoo_spec")
    }


def test_every_hook_is_known_to_the_host():
    assert sorted(hook_functions()) == sorted(HOOKS)


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_hook_documented_with_exact_signature(name):
    text = (DOCS / "plugins.md").read_text()
    fn = hook_functions()[name]
    # annotations are strings under `from __future__ import annotations`; render them the same way
    params = ", ".join(f"{p.name}: {p.annotation}" for p in inspect.signature(fn).parameters.values())
    signature = f"def {name}({params}) -> {inspect.signature(fn).return_annotation}"
    assert f"## {name}" in text
    assert signature in text, f"docs/plugins.md lacks `{signature}`"


def cli_options():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for command, subparser in sub.choices.items():
        for action in subparser._actions:
            for flag in action.option_strings:
                if flag not in ("-h", "--help"):
                    yield command, flag


@pytest.mark.parametrize("command, flag", sorted(set(cli_options())))
def test_cli_option_documented(command, flag):
    text = (DOCS / "cli.md").read_text()
    section = re.split(r"^## ", text, flags=re.M)
    body = next(s for s in section if s.startswith(f"zoo {command}"))
    assert f"`{flag}" in body or f" {flag}" in body, f"docs/cli.md: zoo {command} does not document {flag}"


def test_every_torch_load_is_weights_only():
    calls = []
    for path in [*ROOT.glob("zoo/*.py"), *ROOT.glob("plugins/**/*.py"), *ROOT.glob("tasks/*.py")]:
        calls += [(path.name, line) for line in path.read_text().splitlines() if "torch.load(" in line]
    assert calls, "the ESM plugin loads checkpoints with torch.load"
    assert all("weights_only=True" in line for _, line in calls), calls


@pytest.mark.parametrize("spec", ["ModelSpec", "TaskSpec"])
def test_every_registration_field_is_documented(spec):
    import dataclasses

    from zoo import contract

    text = (DOCS / "plugins.md").read_text()
    for field in dataclasses.fields(getattr(contract, spec)):
        assert f"| `{field.name}` |" in text, f"docs/plugins.md does not document {spec}.{field.name}"


def test_both_docs_show_options_signature_as_the_code_has_it():
    """docs/writing-a-plugin.md and docs/plugins.md showed two different Option signatures."""
    import dataclasses

    from zoo.contract import Option

    fields = ", ".join(f"{f.name}={f.default!r}" for f in dataclasses.fields(Option))
    signature = f"`zoo.contract.Option({fields})`"
    for page in ("writing-a-plugin.md", "plugins.md"):
        assert signature in (DOCS / page).read_text(), page


def test_an_option_can_declare_a_maximum():
    from zoo.contract import ContractError, Option

    option = Option(0.5, float, minimum=0, maximum=1)
    assert option.check("rf", "max_features", 1) == 1.0
    with pytest.raises(ContractError, match=r"option max_features=1.5 for model 'rf': must be at most 1\. Fix"):
        option.check("rf", "max_features", 1.5)
