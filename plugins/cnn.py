"""The paper's supervised CNNs (Shanehsazzadeh, Belanger & Dohan 2020).

Registration only: torch is imported when a model is built, so ``zoo plugins``
and ``zoo --help`` stay fast.
"""

from __future__ import annotations

from zoo_plugins.device import GPU_JOB
from zoo_plugins.precision import OPTION as PRECISION

from zoo import hookimpl
from zoo.contract import Option

# The paper's recipes, per task. lr and weight decay are (conv layers, head).
PAPER = {
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
DEFAULT = {
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
    "stability": dict(
        layers=3,
        filters=128,
        kernel=5,
        dilations=None,
        lr=(5e-4, 5e-4),
        weight_decay=(0.025, 0.025),
        batch_size=64,
        epochs=5,
    ),
}
PROFILES = {"paper": PAPER, "default": DEFAULT}
FALLBACK_TASK = "fluorescence"  # tasks without their own recipe get the one-layer net

# None: the profile's recipe for the task decides
OPTIONS = {
    **{key: Option(None, int, minimum=1) for key in ("layers", "filters", "kernel", "batch_size", "epochs")},
    "dilations": Option(None, list, help="one dilation per layer, e.g. [1,2,1]"),
    "lr": Option(None, None, help="a number, or [conv, head]"),
    "weight_decay": Option(None, None, help="a number, or [conv, head]"),
    "precision": PRECISION,
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
    from zoo_plugins.cnn_net import CNNRegressor

    return CNNRegressor(recipe(task, profile, options), seed=seed, progress=progress)


def make_ensemble(*, task, seed, profile, options, progress=None):
    """The paper's ensemble of three CNNs: the task's recipe trained with ``members`` seeds
    (job seed s: members s·m … s·m + m − 1, so no two jobs share a member), predictions averaged."""
    from zoo_plugins.cnn_net import CNNRegressor
    from zoo_plugins.ensemble import Ensemble

    members = int(options.get("members") or 3)
    rec = recipe(task, profile, {k: v for k, v in options.items() if k != "members"})

    def member(k: int):
        def step(done, total, note=""):  # one bar for the whole ensemble
            progress(done + k * total, members * total, f"member {k + 1}/{members} {note}".strip())

        return CNNRegressor(dict(rec), seed=seed * members + k, progress=step if progress else None)

    return Ensemble(member, members)


@hookimpl
def register_models(register):
    register(
        "cnn",
        make_cnn,
        pretrained=False,
        resources=GPU_JOB,
        options=OPTIONS,
        profiles=tuple(PROFILES),
        clip_profiles=("paper",),
        description="one-hot CNN with masked max-pool (paper recipe per task; "
        "the dilated variant is -o dilations=[1,2,1])",
    )
    register(
        "cnn-ensemble",
        make_ensemble,
        pretrained=False,
        resources=GPU_JOB,
        options={**OPTIONS, "members": Option(3, int, minimum=2, help="CNNs trained and averaged")},
        profiles=tuple(PROFILES),
        clip_profiles=("paper",),
        description="the paper's ensemble: the cnn recipe trained with 3 seeds, predictions averaged",
    )
