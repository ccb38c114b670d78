"""The registration contract: what ``register(...)`` accepts, as typed specs.

A plugin calls ``register(name, factory, **fields)``; the fields become a :class:`ModelSpec`
or a :class:`TaskSpec`. An unknown field (``determinstic=True``) is refused with "did you
mean", so a typo never silently changes how a model runs. Option values are checked against
the declared :class:`Option` at plan time, before any compute.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Mapping

from zoo import ZooError
from zoo.messages import suggest

# How a model uses pretraining. "zero-shot" trains nothing: one job on the full task stands for every
# training-set size, and it is the N = 0 point of every learning curve.
ZERO_SHOT = "zero-shot"
APPROACHES = ("supervised", "frozen", "fine-tuned", ZERO_SHOT, "augmented", "pretrained")


class ContractError(ZooError):
    """A plugin broke the registration contract, or an option value breaks an Option's rules."""


@dataclass(frozen=True)
class Option:
    """One model option: its default, its type, its bounds or its choices.

    ``kind`` is ``int``, ``float``, ``str``, ``bool``, ``list`` or None (any JSON value).
    ``minimum`` and ``maximum`` are inclusive; ``above`` is an exclusive lower bound (learning rates).
    ``choices``: the only values accepted (``-o precision=auto|bf16|fp32``); for a list, its items.
    """

    default: Any = None
    kind: type | None = None
    minimum: float | None = None
    above: float | None = None
    maximum: float | None = None
    help: str = ""
    choices: tuple[Any, ...] | None = None

    def check(self, model: str, name: str, value: Any) -> Any:
        """The value, converted where lossless (an int where a float is declared), or a ContractError."""
        if value is None:
            return None
        where = f"option {name}={value!r} for model {model!r}"
        if self.kind in (int, float):
            number = _number(value)
            if number is None or (self.kind is int and not float(number).is_integer()):
                raise ContractError(
                    f"{where}: expected {'an integer' if self.kind is int else 'a number'}. "
                    f"Fix: e.g. -o {name}={self.default if self.default is not None else 1}."
                )
            if self.minimum is not None and number < self.minimum:
                raise ContractError(
                    f"{where}: must be at least {self.minimum:g}, or the model cannot be built. "
                    f"Fix: choose a value >= {self.minimum:g}."
                )
            if self.above is not None and number <= self.above:
                raise ContractError(f"{where}: must be greater than {self.above:g}. Fix: choose a larger value.")
            if self.maximum is not None and number > self.maximum:
                raise ContractError(
                    f"{where}: must be at most {self.maximum:g}. Fix: choose a value <= {self.maximum:g}."
                )
            return int(number) if self.kind is int else float(number)
        if self.kind is not None and not isinstance(value, self.kind):
            raise ContractError(
                f"{where}: expected {self.kind.__name__}, got {type(value).__name__}. "
                f"Fix: give -o {name}=<{self.kind.__name__}>."
            )
        for item in value if isinstance(value, list) else [value]:  # a list: each of its items
            if self.choices is not None and item not in self.choices:
                known = sorted(map(str, self.choices))
                which = f" {item!r}:" if isinstance(value, list) else ""
                raise ContractError(f"{where}:{which} choose one of {', '.join(known)}.{suggest(str(item), known)}")
        return value


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def as_option(value: Any) -> Option:
    """A plain default declares an option of the default's type (None: any value)."""
    if isinstance(value, Option):
        return value
    return Option(default=value, kind=None if value is None else type(value))


@dataclass(frozen=True)
class ModelSpec:
    """What a model registration declares.

    - ``pretrained``: uses weights learned outside the task data (required).
    - ``approach``: how it uses them, one of :data:`APPROACHES` (the leaderboard names the approach
      that won); default ``"supervised"`` when not pretrained, ``"pretrained"`` (unspecified) when it is.
    - ``deterministic``: the seed does not change the result on the full split (one seed runs).
    - ``options``: option name -> :class:`Option` (or a plain default).
    - ``profiles``: the ``--profile`` names the model knows; ``clip_profiles``: those in which test
      predictions are clipped to the training-label range by default (the paper's practice).
    - ``resources``: ``{"cpus": n, "gpus": m}`` for one job under ``--executor ray``.
    - ``parameters``: pretrained parameter count (0 for supervised models).
    - ``availability``: a cheap callable returning ``"ready"`` or why not (no weights loaded).
    - ``fits_on_selection``: fits parameters on the selection split (a blend weight), so its valid score is
      its own fit's; the leaderboard shows such a model but never ranks it as a side's pick.
    - ``revisions``: ``{(profile, task): n}``, the revision of what a profile's recipe is on a task,
      raised when the model changes it (a stronger default). It joins those jobs' keys alone, so a
      store's runs of the older recipe are never resumed as, or shown as, the new one.
    """

    pretrained: bool
    description: str = ""
    approach: str = ""
    deterministic: bool = False
    options: Mapping[str, Option] = field(default_factory=dict)
    profiles: tuple[str, ...] = ("default",)
    clip_profiles: tuple[str, ...] = ()
    resources: Mapping[str, float] = field(default_factory=dict)
    parameters: int = 0
    availability: Callable[[], str] | None = None
    revisions: Mapping[tuple[str, str], int] = field(default_factory=dict)
    fits_on_selection: bool = False  # fits parameters (not only a choice) on the selection split

    def defaults(self) -> dict[str, Any]:
        return {k: o.default for k, o in self.options.items()}

    def revision(self, profile: str, task: str) -> int:
        """The recipe revision of ``profile`` on ``task`` (0: never changed)."""
        return self.revisions.get((profile, task), 0)


@dataclass(frozen=True)
class TaskSpec:
    """What a task registration declares: a description, and where its data comes from."""

    description: str = ""
    source: str = ""
    url: str = ""
    caveat: str = ""  # said beside every verdict on the task (e.g. its source advises against comparing on it)


def build_spec(kind: str, name: str, given: dict[str, Any]) -> ModelSpec | TaskSpec:
    """Turn ``register()`` keyword arguments into a spec; unknown or mistyped fields are refused."""
    cls = ModelSpec if kind == "model" else TaskSpec
    known = [f.name for f in fields(cls)]
    for key in given:
        if key not in known:
            raise ContractError(
                f"register({name!r}) got an unknown field {key!r}.{suggest(key, known)} A {kind} declares: "
                f"{', '.join(known)}."
            )
    if cls is ModelSpec and "pretrained" not in given:
        raise ContractError(f"model {name!r} must say whether it is pretrained: register(..., pretrained=True/False)")
    values = dict(given)
    if cls is ModelSpec:
        values["options"] = {k: as_option(v) for k, v in dict(values.get("options") or {}).items()}
        for key in ("profiles", "clip_profiles"):
            if key in values:
                values[key] = tuple(values[key])
        if not isinstance(values["pretrained"], bool) or not isinstance(values.get("deterministic", False), bool):
            raise ContractError(f"model {name!r}: pretrained and deterministic must be True or False")
        values["revisions"] = _revisions(name, values.get("revisions") or {})
        values["approach"] = values.get("approach") or ("pretrained" if values["pretrained"] else "supervised")
        if values["approach"] not in APPROACHES or (values["approach"] == "supervised") == values["pretrained"]:
            allowed = "supervised" if not values["pretrained"] else ", ".join(APPROACHES[1:])
            raise ContractError(
                f"model {name!r}: approach={values['approach']!r} does not fit pretrained={values['pretrained']}. "
                f"Fix: approach is one of {allowed}."
            )
    return cls(**values)


def _revisions(name: str, given: Any) -> dict[tuple[str, str], int]:
    ok = isinstance(given, Mapping) and all(
        isinstance(k, tuple) and len(k) == 2 and all(isinstance(x, str) for x in k) for k in given
    )
    if not ok or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in given.values()):
        raise ContractError(
            f"model {name!r}: revisions={given!r} is not a mapping of (profile, task) to a revision. "
            f"Fix: e.g. revisions={{('default', 'stability'): 1}}, each revision a whole number from 1."
        )
    return dict(given)
