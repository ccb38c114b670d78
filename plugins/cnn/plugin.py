"""The paper's supervised CNNs (Shanehsazzadeh, Belanger & Dohan 2020).

Registration only: torch is imported when a model is built, so ``zoo plugins``
and ``zoo --help`` stay fast.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from zoo import hookimpl
from zoo.contract import Option

from ..shared.device import GPU_JOB
from ..shared.precision import OPTION as PRECISION

# The paper's recipes, per task. lr and weight decay are (conv layers, head).
PAPER: dict[str, dict[str, Any]] = {
    "fluorescence": dict(
        layers=1,
        filters=1024,
        kernel=5,
        dilations=None,
        lr=(1e-3, 5e-6),
        weight_decay=(0.0, 0.05),
        batch_size=256,
        epochs=50,
    ),
    "stability": dict(
        layers=3,
        filters=1024,
        kernel=5,
        dilations=None,
        lr=(5e-4, 5e-5),
        weight_decay=(0.025, 0.025),
        batch_size=16,
        epochs=5,
    ),
}
# The CPU profile: fewer filters and epochs, targets standardised, and the epoch with the
# best valid Spearman kept. Sizes were chosen on the valid split (docs/models.md).
DEFAULT: dict[str, dict[str, Any]] = {
    "fluorescence": dict(
        layers=1,
        filters=256,
        kernel=5,
        dilations=None,
        lr=(1e-3, 1e-3),
        weight_decay=(0.0, 0.05),
        batch_size=256,
        epochs=20,
    ),
    # recipe 1: 15 epochs with the rate decayed to 0, not 5 at a constant rate (valid 0.748 against
    # 0.733, as strong as the paper's net on valid in about a ninth of its time; docs/models.md)
    "stability": dict(
        layers=3,
        filters=128,
        kernel=5,
        dilations=None,
        lr=(5e-4, 5e-4),
        weight_decay=(0.025, 0.025),
        batch_size=64,
        epochs=15,
        schedule="cosine",
    ),
}
PROFILES = {"paper": PAPER, "default": DEFAULT}
# where a profile's recipe was raised: the older runs stay rows of their own (ModelSpec.revisions)
REVISIONS = {("default", "stability"): 1}
# The paper's stability ensemble (its notebook, "Ensemble of CNNs"): the mean of three different nets,
# the 3-layer CNN, its dilated variant, and a 3-layer CNN with LinearMaxPool (each position projected
# to 2,048 features before the max), trained with its own recipe.
PAPER_ENSEMBLE = {
    "stability": [
        {},
        {"dilations": [1, 2, 1]},
        {"lens": 2048, "lr": [1e-5, 5e-5, 5e-6], "weight_decay": [0.0, 0.0, 0.0], "batch_size": 256, "epochs": 10},
    ]
}
# Other shapes an ensemble can add to its copies of the task's recipe (cnn-ensemble -o shapes=[...]), each
# a change to that recipe: the paper's dilated variant, a wider kernel, a deeper net (docs/models.md)
SHAPES: dict[str, dict[str, Any]] = {
    "dilated": {"layers": 3, "dilations": [1, 2, 1]},
    "kernel9": {"kernel": 9},
    "deeper": {"layers": 5},
}
FALLBACK_TASK = "fluorescence"  # tasks without their own recipe get the one-layer net

# None: the profile's recipe for the task decides
INITS = ("torch", "flax")  # torch's default initialisation, or the paper code's (cnn_net.CNN.flax_init)
SCHEDULES = ("constant", "cosine")  # the learning rate over the run: the paper's constant, or a cosine decay
POOLS = ("max", "attention")  # over positions: the paper's masked max, or a learned softmax-weighted mean
OPTIONS = {
    **{key: Option(None, int, minimum=1) for key in ("layers", "filters", "kernel", "batch_size", "epochs")},
    "dilations": Option(None, list, help="one dilation per layer, e.g. [1,2,1]"),
    "lens": Option(None, int, minimum=1, help="LinearMaxPool: project each position to this size before the max"),
    "lr": Option(None, None, help="a number, or [conv, head] (with a lens: [conv, lens, head])"),
    "weight_decay": Option(None, None, help="a number, or [conv, head] ([conv, lens, head] with a lens)"),
    "precision": PRECISION,
    "init": Option(
        None,
        str,
        help="torch (unset: torch's own) or flax (the paper's code: lecun-normal convs, xavier head)",
        choices=INITS,
    ),
    "schedule": Option(
        None,
        str,
        help="constant or cosine (each group's lr decays to 0 over the run's steps); unset: the recipe's "
        "(cosine in the default stability recipe, else the paper's constant)",
        choices=SCHEDULES,
    ),
    "pool": Option(
        None, str, help="max (unset: the paper's masked max) or attention (a learned weighted mean)", choices=POOLS
    ),
}


def recipe(task: str, profile: str, options: dict) -> dict:
    if profile not in PROFILES:
        from zoo import ZooError

        raise ZooError(f"cnn has no profile {profile!r}; choose one of {', '.join(PROFILES)}")
    base = dict(PROFILES[profile].get(task, PROFILES[profile][FALLBACK_TASK]))
    base.update({k: v for k, v in options.items() if v is not None})
    base["standardize"] = profile != "paper"
    base["select_on_valid"] = profile != "paper"
    base["min_steps_per_epoch"] = 0 if profile == "paper" else 10  # low-N tasks get smaller batches
    return base


def make_cnn(*, task, seed, profile, options, progress=None):
    from .net import CNNRegressor

    return CNNRegressor(recipe(task, profile, options), seed=seed, progress=progress)


# cnn-grid: the task's recipe and three other shapes, the best on valid kept. Recipe-less tasks (GB1,
# third-party assays) get the one-layer fallback otherwise; these add a narrower net and deeper,
# dilated ones that see farther along the sequence.
GRID: dict[str, dict[str, Any]] = {
    "recipe": {},
    "1x64": {"layers": 1, "filters": 64, "dilations": None},
    "2x128 dilated [1,2]": {"layers": 2, "filters": 128, "dilations": [1, 2]},
    "3x128 dilated [1,2,4]": {"layers": 3, "filters": 128, "dilations": [1, 2, 4]},
}


def make_grid(*, task, seed, profile, options, progress=None):
    """The task's ``cnn`` recipe and the shapes of ``GRID`` (options set with -o apply to all), each
    trained, the best valid Spearman kept (``plugins/shared/selection.py``)."""
    from ..shared.selection import SelectOnValid
    from .net import CNNRegressor

    chosen = {k: v for k, v in options.items() if v is not None}
    names = list(GRID)

    def candidate(k: int):
        def step(done, total, note=""):
            progress(k * 1000 + done * 1000 // total, len(names) * 1000, f"{names[k]} {note}".strip())

        rec = recipe(task, profile, {**GRID[names[k]], **chosen})
        return lambda: CNNRegressor(rec, seed=seed, progress=step if progress else None)

    return SelectOnValid([(name, candidate(k)) for k, name in enumerate(names)])


def make_ensemble(*, task, seed, profile, options, progress=None):
    """An ensemble of CNNs, predictions averaged. Under ``paper`` on stability, the paper's three nets
    (``PAPER_ENSEMBLE``), each with the job's seed: the same nets as ``cnn --profile paper`` and its
    dilated variant at that seed, so their finished training is reused. Otherwise ``members`` copies
    of the task's recipe. ``shapes`` adds one member of each named shape (``SHAPES``; its change wins
    over the options). Member k of job seed s trains with seed s·m + k, m members in all (no two
    ensemble jobs share a member; at seed 0 the copies are ``cnn`` seeds 0, 1, …)."""
    from .ensemble import Ensemble
    from .net import CNNRegressor

    chosen = {k: v for k, v in options.items() if k not in ("members", "shapes") and v is not None}
    variants = PAPER_ENSEMBLE.get(task) if profile == "paper" else None
    shapes = list(options.get("shapes") or [])
    base = [{**v, **chosen} for v in variants] if variants else [chosen] * int(options.get("members") or 3)
    recipes = [recipe(task, profile, r) for r in base + [{**chosen, **SHAPES[s]} for s in shapes]]
    members = len(recipes)

    def member(k: int):
        def step(done, total, note=""):  # one bar for the whole ensemble (members' totals may differ)
            progress(k * 1000 + done * 1000 // total, members * 1000, f"member {k + 1}/{members} {note}".strip())

        member_seed = seed if variants else seed * members + k
        return CNNRegressor(recipes[k], seed=member_seed, progress=step if progress else None)

    ensemble = Ensemble(member, members)
    if shapes:
        ensemble.params["member_shapes"] = ["recipe"] * len(base) + shapes
    return ensemble


ENSEMBLE_OPTIONS = {
    **OPTIONS,
    "members": Option(3, int, minimum=2, help="copies of the cnn recipe trained and averaged"),
    "shapes": Option(
        None,
        list,
        help='add one net of each named shape to the copies, e.g. ["dilated","kernel9"] (docs/models.md)',
        choices=tuple(SHAPES),
    ),
}
RIDGES = ("onehot", "pairwise")  # cnn-linear-blend's second member: `linear` or `linear-pairwise`
BLEND_OPTIONS = {
    **OPTIONS,
    "ridge": Option("onehot", str, help="onehot (`linear`) or pairwise (`linear-pairwise`)", choices=RIDGES),
    "alpha": Option(None, float, minimum=0, help="the ridge's penalty; unset: as `linear` (or `linear-pairwise`)"),
    "members": Option(
        1, int, minimum=1, help="CNNs averaged in the first member: 1 is `cnn` at the job's seed, more `cnn-ensemble`"
    ),
}


def make_blend(*, task, seed, profile, options, progress=None):
    """The task's ``cnn`` recipe and a ridge on one-hot (``linear``, with ``-o ridge=pairwise``
    ``linear-pairwise``) under the same profile, their predictions blended with the weight chosen on
    valid (``plugins/cnn/blend.py``). The CNN is the same net as ``cnn`` at that seed (with
    ``-o members=m``, ``cnn-ensemble`` of m at that seed), so its finished training is reused."""
    from ..linear.plugin import make_pairwise, make_ridge
    from .blend import Blend
    from .net import CNNRegressor

    own = {"ridge", "alpha", "members"}
    cnn_options = {k: v for k, v in options.items() if k not in own}
    members = int(options.get("members") or 1)
    if members > 1:  # `cnn-ensemble` at that seed, so its members' finished training is reused too
        ensemble = {**cnn_options, "members": members}
        first = partial(make_ensemble, task=task, seed=seed, profile=profile, options=ensemble, progress=progress)
    else:
        first = partial(CNNRegressor, recipe(task, profile, cnn_options), seed=seed, progress=progress)
    ridge = {"alpha": options.get("alpha")}
    make = make_pairwise if options.get("ridge") == "pairwise" else make_ridge
    return Blend([("cnn", first), ("linear", lambda: make(task=task, seed=seed, profile=profile, options=ridge))])


@hookimpl
def register_models(register):
    # trained here, on a GPU where there is one; both profiles, the paper's clipping its default
    trained = dict(
        pretrained=False, resources=GPU_JOB, profiles=tuple(PROFILES), clip_profiles=("paper",), revisions=REVISIONS
    )
    register(
        "cnn",
        make_cnn,
        options=OPTIONS,
        **trained,
        description="one-hot CNN with masked max-pool (paper recipe per task; "
        "the dilated variant is -o dilations=[1,2,1])",
    )
    register(
        "cnn-ensemble",
        make_ensemble,
        options=ENSEMBLE_OPTIONS,
        **trained,
        description="an ensemble of CNNs, predictions averaged (paper profile on stability: the paper's three "
        "nets; otherwise -o members=3 seeds of the cnn recipe)",
    )
    register(
        "cnn-linear-blend",
        make_blend,
        options=BLEND_OPTIONS,
        fits_on_selection=True,  # its blend weight is fitted on valid: its valid score is its own fit's
        **trained,
        description="cnn and a one-hot ridge (linear; -o ridge=pairwise: linear-pairwise), predictions "
        "blended with the weight chosen on valid",
    )
    register(
        "cnn-grid",
        make_grid,
        pretrained=False,
        resources=GPU_JOB,
        options=OPTIONS,
        profiles=("default",),
        revisions=REVISIONS,
        description="cnn with its shape chosen on valid: the task's recipe, 1x64, 2x128 and 3x128 dilated",
    )
