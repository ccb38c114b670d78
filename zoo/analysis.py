"""The statistics behind the leaderboard: configuration rows, verdicts, learning curves.

Pure functions of run records (flat dicts, as :meth:`zoo.tracking.Tracker.job_runs` returns them
or a results bundle holds them) and a ``predictions(run_id) -> DataFrame`` callable. No file is
written and no markdown made here: :mod:`zoo.page` renders a :class:`Board`.

A row is one configuration: model, plugin and its version, the options the user set, profile,
clipping, train size and data. Runs on other data for the same task name are never mixed in:
per task, the data of the newest run wins and the others are counted as left out.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np

from zoo import names
from zoo.contract import ZERO_SHOT
from zoo.metrics import resampled_spearman, spearman, two_level_interval

Predictions = Callable[[str], Any]


def latest_per_job(runs: Iterable[dict]) -> list[dict]:
    """One run per job key and device: the newest successful one, else the newest attempt.

    A job rerun with --force leaves two runs; counting both would double a seed. The same job run
    on a GPU is a row of its own (``accelerator``), so it never hides the CPU's run."""
    best: dict[tuple, tuple] = {}
    for run in runs:
        key = (run.get(f"tags.{names.JOB_KEY}") or run["run_id"], accelerator(run))
        rank = (succeeded(run), run.get("start_time") or 0)
        if key not in best or rank > best[key][0]:
            best[key] = (rank, run)
    return [run for _, run in best.values()]


def succeeded(run: dict) -> bool:
    """Finished with a finite test Spearman: a NaN score is a failure, whatever the run says."""
    score = run.get(f"metrics.{names.TEST_SPEARMAN}")
    return run.get(f"tags.{names.OUTCOME}") == "ok" and score is not None and math.isfinite(float(score))


def approach_of(run: dict) -> str:
    """How the run's model uses pretraining (``zoo.contract.APPROACHES``); a run recorded before the
    tag existed says only whether it was pretrained."""
    tagged = run.get(f"tags.{names.APPROACH}")
    return tagged or ("pretrained" if run.get(f"tags.{names.PRETRAINED}") == "true" else "supervised")


SIDES = ("supervised", "pretrained", "hybrid")


def side_of(approach: str) -> str:
    """The three sides a verdict compares: supervised; pretrained (frozen, fine-tuned, zero-shot); hybrid
    (augmented: a supervised one-hot ridge plus a pretrained feature, so it contains the supervised side)."""
    return "hybrid" if approach == "augmented" else "supervised" if approach == "supervised" else "pretrained"


@dataclass
class Facts:
    """What the installed plugins say of the models and tasks a board shows (the host knows none itself):
    which models are deterministic (one run is all there is), and a task's caveat for any verdict on it."""

    deterministic: set[str] = field(default_factory=set)
    caveats: dict[str, str] = field(default_factory=dict)
    fits_on_selection: set[str] = field(default_factory=set)  # never a pick: ranked on data it fitted


def full_size(run: dict) -> bool:
    return run.get(f"tags.{names.TRAIN_SIZE}", "full") == "full"


def config(run: dict) -> tuple:
    """What makes a leaderboard row, apart from the task, its data and the train size."""
    return (
        run.get(f"tags.{names.MODEL}"),
        run.get(f"tags.{names.PLUGIN}"),
        run.get(f"tags.{names.PLUGIN_VERSION}"),
        run.get(f"tags.{names.OPTIONS}") or "{}",
        run.get(f"tags.{names.PROFILE}"),
        run.get(f"params.{names.CLIP}") == "True",
        accelerator(run),
        int(run.get(f"tags.{names.REVISION}") or 0),
    )


def accelerator(run: dict) -> str:
    """The GPU a run trained on, from its machine tag ("" on a CPU): the same recipe on another
    device is another row, never averaged with the CPU's seeds."""
    machine = run.get(f"tags.{names.MACHINE}") or ""
    if machine.endswith(", GPU"):
        return "GPU"
    return machine.split(", GPU: ", 1)[1] if ", GPU: " in machine else ""


def labels(runs: Iterable[dict]) -> dict[tuple, str]:
    """A readable, unique name per configuration: ``linear``, ``linear (alpha=100)``, ``cnn (paper, clip)``,
    ``cnn (paper, on NVIDIA H100 80GB HBM3)``, ``cnn (recipe 1)`` (a raised ``ModelSpec.revisions``);
    the plugin and its version are added only where two plugins' configurations would share a name."""
    out: dict[tuple, str] = {}
    for cfg in {config(r) for r in runs}:
        model, _, _, opts, profile, clip, gpu, revision = cfg
        parts = [f"{k}={v}" for k, v in sorted(json.loads(opts).items())]
        parts += [profile] if profile and profile != "default" else []
        parts += ["clip"] if clip else []
        parts += [f"on {gpu}"] if gpu else []
        parts += [f"recipe {revision}"] if revision else []
        out[cfg] = f"{model} ({', '.join(parts)})" if parts else str(model)
    counts: dict[str, int] = {}
    for label in out.values():
        counts[label] = counts.get(label, 0) + 1
    return {cfg: f"{label} [{cfg[1]} {cfg[2]}]" if counts[label] > 1 else label for cfg, label in out.items()}


def current_data(runs: list[dict]) -> tuple[list[dict], dict[str, str]]:
    """Per task, only the runs on the data of its newest run; and a note per task with left-out runs."""
    newest: dict[str, tuple[int, str]] = {}
    for r in runs:
        task, digest, start = (
            str(r.get(f"tags.{names.TASK}")),
            r.get(f"tags.{names.DATA_SHA256}") or "",
            r.get("start_time") or 0,
        )
        if digest and (task not in newest or start > newest[task][0]):
            newest[task] = (start, digest)
    kept: list[dict] = []
    left: dict[str, int] = {}
    for r in runs:
        task, digest = str(r.get(f"tags.{names.TASK}")), r.get(f"tags.{names.DATA_SHA256}") or ""
        if task in newest and digest and digest != newest[task][1]:
            left[task] = left.get(task, 0) + 1
        else:
            kept.append(r)
    notes = {
        task: f"{n} older run(s) on other data for this task name were left out (only the newest data, "
        f"sha256 {newest[task][1][:12]}…, is shown)"
        for task, n in left.items()
    }
    return kept, notes


@dataclass
class Row:
    """One configuration on one task (full training split): its successful runs, one per seed."""

    task: str
    label: str
    model: str
    pretrained: bool
    profile: str
    clip: bool
    runs: list[dict]  # successful runs, by seed
    failed: list[dict]  # the latest failed attempts, shown when nothing succeeded
    notes: str = ""
    approach: str = ""  # zoo.contract.APPROACHES; unset: what `pretrained` alone says
    ci: tuple[float, float] = (math.nan, math.nan)
    seed_scores: np.ndarray | None = None  # (seeds, resamples), for intervals and verdicts
    # each seed's test Spearman recomputed from its stored (float32) predictions: the headline, so a page
    # made from the results bundle is exactly the page made from the store
    recomputed: list[float] | None = None
    length_controlled: float = math.nan  # zero-shot rows: mean Spearman within sequence-length bins

    def __post_init__(self) -> None:
        self.approach = self.approach or ("pretrained" if self.pretrained else "supervised")

    @property
    def side(self) -> str:
        return side_of(self.approach)

    @property
    def ok(self) -> bool:
        return bool(self.runs)

    @property
    def status(self) -> str:
        if self.runs:
            return "ok"
        return self.failed[-1].get(f"tags.{names.OUTCOME}") or "incomplete" if self.failed else "incomplete"

    @property
    def message(self) -> str:
        last = self.failed[-1] if self.failed else {}
        return last.get(f"tags.{names.MESSAGE}") or "the run did not finish"

    def metric(self, name: str) -> float:
        values = [float(r[f"metrics.{name}"]) for r in self.runs if f"metrics.{name}" in r]
        return float(np.mean(values)) if values else math.nan

    @property
    def score(self) -> float:
        if not self.runs:
            return -math.inf
        return float(np.mean(self.recomputed)) if self.recomputed else self.metric(names.TEST_SPEARMAN)

    @property
    def valid(self) -> float:
        """Mean valid Spearman over seeds (NaN where the valid split could not be scored)."""
        return self.metric(names.VALID_SPEARMAN) if self.runs else math.nan

    @property
    def valid_rows(self) -> int | None:
        rows = self.first(f"params.{names.SELECTION_SEQUENCES}")
        return None if rows is None else int(rows)

    @property
    def chosen_on_valid(self) -> bool:
        """Whether :func:`best` ranks this row by its valid Spearman (else by test)."""
        return chosen_on_valid(self.score, self.valid, self.valid_rows)[0]

    @property
    def sd(self) -> float:
        values = self.recomputed or [float(r[f"metrics.{names.TEST_SPEARMAN}"]) for r in self.runs]
        return float(np.std(values, ddof=1)) if len(values) > 1 else math.nan

    def first(self, key: str) -> Any:
        """A value recorded by the runs (the lowest seed's), or None."""
        return next((r[key] for r in self.runs if r.get(key) not in (None, "")), None)


def _seed(run: dict) -> int:
    return int(run.get(f"tags.{names.SEED}") or 0)


def rows(runs: list[dict]) -> dict[str, list[Row]]:
    """Rows per task (full training split), best first; configurations that never succeeded included."""
    named = task_labels(runs)
    groups: dict[tuple, list[dict]] = {}
    for run in filter(full_size, runs):
        groups.setdefault((run.get(f"tags.{names.TASK}"), config(run)), []).append(run)
    tables: dict[str, list[Row]] = {}
    for (task, cfg), group in groups.items():
        ok = sorted((r for r in group if succeeded(r)), key=_seed)
        failed = sorted((r for r in group if not succeeded(r)), key=lambda r: r.get("start_time") or 0)
        notes = next((r.get(f"tags.{names.DATA_NOTES}") for r in group if r.get(f"tags.{names.DATA_NOTES}")), "")
        tables.setdefault(task, []).append(
            Row(
                task,
                named[(task, cfg)],
                cfg[0],
                group[0].get(f"tags.{names.PRETRAINED}") == "true",
                cfg[4],
                cfg[5],
                ok,
                failed,
                notes or "",
                approach_of(group[0]),
            )
        )
    for table in tables.values():
        table.sort(key=lambda r: (-r.score, r.label))
    return dict(sorted(tables.items()))


def task_labels(runs: list[dict]) -> dict[tuple, str]:
    """``labels`` per (task, configuration), where a configuration whose recipe the model has since
    raised on that task (``ModelSpec.revisions``) is kept and said to be superseded."""
    named = labels(runs)
    seen = {(r.get(f"tags.{names.TASK}"), config(r)) for r in runs}
    newest: dict[tuple, int] = {}
    for task, cfg in seen:
        newest[(task, cfg[:-1])] = max(newest.get((task, cfg[:-1]), 0), cfg[-1])
    out = {}
    for task, cfg in seen:
        label = named[cfg]
        if cfg[-1] < newest[(task, cfg[:-1])]:
            label = f"{label[:-1]}, superseded)" if label.endswith(")") else f"{label} (superseded)"
        out[(task, cfg)] = label
    return out


def scores_of(runs: list[dict], predictions: Predictions) -> np.ndarray:
    """(seeds, resamples) Spearman of each run on the shared test resamples."""
    frames = [predictions(r["run_id"]) for r in runs]
    return np.stack([resampled_spearman(f["target"].to_numpy(), f["prediction"].to_numpy()) for f in frames])


# fewer valid rows than this cannot rank configurations (on 3 rows a Spearman is -1, -0.5, 0.5 or 1)
MIN_VALID_ROWS = 20


def chosen_on_valid(test: float, valid: float, valid_rows: int | None = None) -> tuple[bool, float]:
    """How each side's best configuration is chosen: by mean valid Spearman, never by test (the higher
    of many noisy test scores would favour the side with more configurations). A configuration whose
    valid split could not be scored, or has fewer than MIN_VALID_ROWS rows, ranks after those with a
    valid score, by test (the page says so)."""
    usable = math.isfinite(valid) and (valid_rows is None or valid_rows >= MIN_VALID_ROWS)
    return (True, valid) if usable else (False, test)


def best(table: list[Row], facts: Facts | None = None) -> tuple[Row | None, Row | None]:
    """Best pretrained and best supervised row (:func:`best_of`)."""
    return best_of(table, "pretrained", facts), best_of(table, "supervised", facts)


def best_of(table: list[Row], side: str, facts: Facts | None = None) -> Row | None:
    """A side's best row, chosen on valid (:func:`chosen_on_valid`). Clipped rows are compared only when
    nothing else finished: clipping ties predictions at the bounds and raises Spearman, so a clipped row
    against an unclipped one is not a fair pair. NaN never wins: such runs are failures. A model that fits
    on the selection split (``Facts.fits_on_selection``) is never a pick: its valid score is its own fit's."""
    fitted = facts.fits_on_selection if facts else set()
    candidates = [r for r in table if r.model not in fitted]
    ok = [r for r in candidates if r.ok and not r.clip] or [r for r in candidates if r.ok]
    rows_ = [r for r in ok if r.side == side and math.isfinite(r.score)]
    return max(rows_, key=lambda r: chosen_on_valid(r.score, r.valid, r.valid_rows), default=None)


# below this, valid does not rank a side's configurations as test does, and a pick by valid is close to noise
VALID_RANKS_TEST = 0.3


def valid_ranks_test(table: list[Row], side: str) -> float:
    """Spearman, across a side's configurations (unclipped, valid usable), of their valid and test scores:
    how well valid ranks configurations as test would. NaN with fewer than 4 configurations."""
    from zoo.metrics import spearman

    side_rows = [r for r in table if r.ok and not r.clip and r.side == side and r.chosen_on_valid]
    # (rows of models that fit on valid are left in: how valid ranks configurations is a fact of the task)
    if len(side_rows) < 4:
        return math.nan
    return float(spearman(np.array([r.valid for r in side_rows]), np.array([r.score for r in side_rows])))


class _Interval:
    """A difference with a 95% interval, and the word the page uses for it."""

    low: float
    high: float

    @property
    def word(self) -> str:
        return word(self.low, self.high)


@dataclass
class Verdict(_Interval):
    """A side's best minus the best supervised row, in mean-over-seeds test Spearman, with its interval.
    ``word`` is what the evidence allows: the interval's word only when both picks were made on valid and
    each is deterministic or has at least MIN_SEEDS seeds; otherwise it says what is missing."""

    pre: Row
    sup: Row
    difference: float
    low: float
    high: float
    side: str = "pretrained"
    missing: str = ""  # why no verdict word: "not determinable (…)" or "provisional (…)"
    caveats: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)  # the `zoo eval` runs that add the missing seeds

    @property
    def word(self) -> str:
        return self.missing or word(self.low, self.high)

    @property
    def interval_word(self) -> str:
        """The interval's own word: a diagnostic where ``missing`` withholds the verdict."""
        return word(self.low, self.high)


MIN_SEEDS = 3


def missing_evidence(rows_: list[Row], facts: Facts, table: list[Row] | None = None) -> str:
    """What a verdict word between these picks lacks, or ''. A pick made by test counts only where its
    side had a choice: a side with one configuration finished has nothing to choose."""

    def choices(row: Row) -> int:
        return len([r for r in table if r.ok and r.side == row.side and r.clip == row.clip]) if table else 2

    on_test = [r for r in rows_ if not r.chosen_on_valid and choices(r) > 1]
    if on_test:
        counts = [r.valid_rows for r in on_test if r.valid_rows is not None]
        return f"not determinable (valid has {min(counts)} rows)" if counts else "not determinable (no valid score)"
    short = [r for r in rows_ if r.model not in facts.deterministic and len(r.runs) < MIN_SEEDS]
    if short:
        n = min(len(r.runs) for r in short)
        return f"provisional ({n} seed{'s' if n != 1 else ''})"
    return ""


def seeds_command(rows_: list[Row], facts: Facts) -> list[str]:
    """The `zoo eval` commands that add the seeds a provisional verdict lacks (each row's own options)."""
    out = []
    for r in rows_:
        if r.model in facts.deterministic or len(r.runs) >= MIN_SEEDS:
            continue
        options = json.loads(r.first(f"tags.{names.OPTIONS}") or "{}")
        parts = ["zoo eval", f"--model {r.model}", f"--task {r.task}", f"--seeds {MIN_SEEDS}"]
        parts += [f"--profile {r.profile}"] if r.profile and r.profile != "default" else []
        parts += ["--clip" if r.clip else "--no-clip"] if r.profile == "paper" else []
        parts += [f"-o {k}={json.dumps(v, separators=(',', ':'))}" for k, v in sorted(options.items())]
        out.append(" ".join(parts))
    return out


def word(low: float, high: float) -> str:
    return "helps" if low > 0 else "does not help" if high < 0 else "inconclusive"


def chance_word(row: Row) -> str:
    """A zero-shot row against chance (Spearman 0), by its test bootstrap interval."""
    low, high = row.ci
    if not (math.isfinite(low) and math.isfinite(high)):
        return "no interval"
    return "beats chance" if low > 0 else "worse than chance" if high < 0 else "not distinguishable from chance"


def zero_shot(tables: dict[str, list[Row]]) -> dict[str, list[Row]]:
    """Per task, the zero-shot rows that finished (the N = 0 point: no label read), best first."""
    found = {task: [r for r in table if r.ok and r.approach == ZERO_SHOT] for task, table in tables.items()}
    return {task: rows for task, rows in found.items() if rows}


def verdict(table: list[Row], side: str = "pretrained", facts: Facts | None = None) -> Verdict | None:
    facts = facts or Facts()
    pre, sup = best_of(table, side, facts), best_of(table, "supervised", facts)
    if pre is None or sup is None or pre.seed_scores is None or sup.seed_scores is None:
        return None
    low, high = two_level_interval(pre.seed_scores, sup.seed_scores)
    missing = missing_evidence([pre, sup], facts, table)
    caveats = [facts.caveats[pre.task]] if pre.task in facts.caveats else []
    if missing.startswith("not determinable"):
        caveats.append("chosen on test")
    elif missing:
        caveats.append(missing)
    rhos = [r for r in (valid_ranks_test(table, s) for s in (side, "supervised")) if math.isfinite(r)]
    rho = min(rhos, default=math.nan)  # the side whose valid ranks its configurations worst
    if rhos and rho < VALID_RANKS_TEST:
        caveats.append(f"valid does not rank configurations here (ρ = {rho:.2f})")
    commands = seeds_command([pre, sup], facts) if missing.startswith("provisional") else []
    return Verdict(pre, sup, pre.score - sup.score, low, high, side, missing, caveats, commands)


@dataclass
class Point:
    n: int
    runs: list[dict]

    @property
    def mean(self) -> float:
        return float(np.mean([float(r[f"metrics.{names.TEST_SPEARMAN}"]) for r in self.runs]))

    def mean_metric(self, name: str) -> float:
        return float(np.mean([float(r.get(f"metrics.{name}", math.nan)) for r in self.runs]))

    @property
    def valid(self) -> float:
        return self.mean_metric(names.VALID_SPEARMAN)

    @property
    def selection(self) -> float:
        """Mean Spearman on the rows the runs could select on (NaN where a run did not record it)."""
        return self.mean_metric(names.SELECTION_SPEARMAN)

    @property
    def valid_rows(self) -> int | None:
        """Valid rows this point's runs selected on (N/4 below the full split; all of valid at it)."""
        rows = self.runs[0].get(f"params.{names.SELECTION_SEQUENCES}") if self.runs else None
        return None if rows is None else int(rows)


@dataclass
class Curve:
    label: str
    pretrained: bool
    points: list[Point] = field(default_factory=list)
    approach: str = ""

    def __post_init__(self) -> None:
        self.approach = self.approach or ("pretrained" if self.pretrained else "supervised")

    @property
    def side(self) -> str:
        return side_of(self.approach)

    def at(self, n: int) -> Point | None:
        """The point at size n; a zero-shot curve's one point (N = 0) holds at every size."""
        if self.approach == ZERO_SHOT:
            return self.points[0] if self.points else None
        return next((p for p in self.points if p.n == n), None)


def _curve_runs(runs: list[dict]) -> list[dict]:
    """Successful, unclipped runs with their training-set size as ``n`` (clipping raises Spearman, so
    a clipped run would not continue an unclipped curve)."""
    return [
        {**r, "n": int(r[f"params.{names.TRAIN_SEQUENCES}"])}
        for r in runs
        if succeeded(r) and r.get(f"params.{names.CLIP}") != "True" and f"params.{names.TRAIN_SEQUENCES}" in r
    ]


def curves(runs: list[dict]) -> dict[str, dict[str, Curve]]:
    """Per task with subsampled runs, a curve per configuration; the full-size runs are its last point.
    A zero-shot model read no label, so its run is the curve's N = 0 point."""
    named = task_labels(runs)
    finished = _curve_runs(runs)
    with_curves = {r[f"tags.{names.TASK}"] for r in finished if not full_size(r)}
    grouped: dict[str, dict[str, dict[int, list[dict]]]] = {}
    kinds: dict[str, tuple[bool, str]] = {}
    for r in finished:
        task = r[f"tags.{names.TASK}"]
        if task in with_curves:
            label = named[(task, config(r))]
            kinds[label] = (r.get(f"tags.{names.PRETRAINED}") == "true", approach_of(r))
            n = 0 if kinds[label][1] == ZERO_SHOT else r["n"]
            grouped.setdefault(task, {}).setdefault(label, {}).setdefault(n, []).append(r)
    return {
        task: {
            label: Curve(
                label,
                kinds[label][0],
                [Point(n, sorted(rs, key=_seed)) for n, rs in sorted(by_n.items())],
                kinds[label][1],
            )
            for label, by_n in sorted(by_label.items())
        }
        for task, by_label in sorted(grouped.items())
    }


@dataclass
class Pair(_Interval):
    """At one training-set size: a side's best configuration and the best supervised one, compared."""

    n: int
    pre: str
    pre_approach: str
    pre_score: float
    sup: str
    sup_score: float
    seeds: int
    difference: float
    low: float
    high: float
    side: str = "pretrained"
    missing: str = ""

    @property
    def word(self) -> str:
        return self.missing or word(self.low, self.high)


def curve_pairs(
    task_curves: dict[str, Curve], predictions: Predictions, side: str = "pretrained", facts: Facts | None = None
) -> list[Pair]:
    """A side's best (zero-shot included: it holds at every size) against the best supervised at each
    size N > 0, each ranked by its Spearman on the selection split the runs were allowed (about N/4 valid
    rows; ``names.SELECTION_SPEARMAN``), never on all of valid. Where a point's runs did not record it,
    no pick can be made by the rule and the pair says so. Seeds shared by both sides trained on the same
    subset, so they are paired; the interval resamples seeds and test items."""
    facts = facts or Facts()
    out = []
    for n in sorted({p.n for c in task_curves.values() for p in c.points if p.n > 0}):
        best_at: dict[str, tuple[float, Curve, Point]] = {}
        unscored = False
        for c in task_curves.values():
            point = c.at(n)
            if c.side not in (side, "supervised") or point is None or not math.isfinite(point.mean):
                continue
            if point.runs and point.runs[0].get(f"tags.{names.MODEL}") in facts.fits_on_selection:
                continue  # ranked on the valid rows it fitted: never a pick
            rank = point.selection if c.approach != ZERO_SHOT else point.valid  # zero-shot selects nothing
            if not math.isfinite(rank):
                unscored = True
                continue
            if c.side not in best_at or rank > best_at[c.side][0]:
                best_at[c.side] = (rank, c, point)
        if side not in best_at or "supervised" not in best_at:
            if unscored:
                out.append(
                    Pair(
                        n,
                        "–",
                        "",
                        math.nan,
                        "–",
                        math.nan,
                        0,
                        math.nan,
                        math.nan,
                        math.nan,
                        side,
                        "not determinable (selection score not recorded: rerun the curve jobs)",
                    )
                )
            continue
        (_, pre, p_pre), (_, sup, p_sup) = best_at[side], best_at["supervised"]
        frames_a = [predictions(r["run_id"]) for r in p_pre.runs]
        frames_b = [predictions(r["run_id"]) for r in p_sup.runs]
        if any(list(a["sequence"]) != list(frames_b[0]["sequence"]) for a in frames_a):
            continue  # not the same test set: no pairing possible
        seeds_a, seeds_b = [_seed(r) for r in p_pre.runs], [_seed(r) for r in p_sup.runs]
        low, high = two_level_interval(
            scores_of(p_pre.runs, predictions), scores_of(p_sup.runs, predictions), paired=seeds_a == seeds_b
        )
        seeds = min(len(seeds_a), len(seeds_b))
        short = seeds < MIN_SEEDS
        missing = f"provisional ({seeds} seed{'s' if seeds != 1 else ''})" if short else ""
        if unscored:
            missing = "not determinable (selection score not recorded: rerun the curve jobs)"
        out.append(
            Pair(
                n,
                pre.label,
                pre.approach,
                p_pre.mean,
                sup.label,
                p_sup.mean,
                seeds,
                p_pre.mean - p_sup.mean,
                low,
                high,
                side,
                missing,
            )
        )
    return out


@dataclass
class NotRun:
    """A model family (``x`` and ``x-finetune``) with no successful run on some tasks, and why."""

    family: str
    models: list[str]
    status: str
    reason: str
    tasks: list[str]


def not_run(tables: dict[str, list[Row]]) -> list[NotRun]:
    """Once per model family; a training stopped midway once per job, since each got its own distance."""
    families: dict[tuple[str, ...], NotRun] = {}
    for task, table in tables.items():
        for row in table:
            if row.ok:
                continue
            family = row.model.removesuffix("-finetune")
            key = (family, task, row.label) if row.status == "killed" else (family,)
            entry = families.setdefault(key, NotRun(family, [], row.status, row.message, []))
            if row.label not in entry.models:
                entry.models.append(row.label)
            if task not in entry.tasks:
                entry.tasks.append(task)
    return sorted(families.values(), key=lambda e: (e.family, e.tasks))


@dataclass
class Board:
    tables: dict[str, list[Row]]
    verdicts: dict[str, Verdict | None]  # pretrained against supervised: the headline
    curves: dict[str, dict[str, Curve]]
    pairs: dict[str, list[Pair]]
    not_run: list[NotRun]
    left_out: dict[str, str]
    machines: list[str]
    commits: list[str]
    runs_read: int  # the runs used (one per job key, current data): the same from a store or its bundle
    hybrid: dict[str, Verdict | None] = field(default_factory=dict)  # hybrid (augmented) against supervised
    hybrid_pairs: dict[str, list[Pair]] = field(default_factory=dict)
    facts: Facts = field(default_factory=Facts)


def used_runs(runs: list[dict]) -> list[dict]:
    """The runs a leaderboard of ``runs`` shows: one per job key, on each task's newest data."""
    return current_data(latest_per_job(ended(runs)))[0]


def ended(runs: Iterable[dict]) -> list[dict]:
    """Runs that have ended: a job still running is not a result yet (a run left RUNNING by a killed
    zoo eval is marked KILLED by the next one, and then shows as not run)."""
    return [r for r in runs if r.get("status") != "RUNNING"]


def analyse(runs: list[dict], predictions: Predictions | None = None, facts: Facts | None = None) -> Board:
    """Everything the page shows. Without ``predictions`` there are no intervals and no verdicts."""
    facts = facts or Facts()
    kept, left_out = current_data(latest_per_job(ended(runs)))
    tables = rows(kept)
    if predictions is not None:
        for table in tables.values():
            for row in table:
                if row.ok:
                    frames = [predictions(r["run_id"]) for r in row.runs]
                    row.recomputed = [spearman(f["target"].to_numpy(), f["prediction"].to_numpy()) for f in frames]
                    row.seed_scores = scores_of(row.runs, predictions)
                    row.ci = two_level_interval(row.seed_scores)
                    if row.approach == ZERO_SHOT:
                        row.length_controlled = float(np.mean([within_lengths(f) for f in frames]))
    all_curves = curves(kept)
    finished = [r for r in kept if succeeded(r)]

    def pairs(side: str) -> dict[str, list[Pair]]:
        return {t: curve_pairs(c, predictions, side, facts) if predictions else [] for t, c in all_curves.items()}

    return Board(
        tables=tables,
        verdicts={task: verdict(table, "pretrained", facts) for task, table in tables.items()},
        curves=all_curves,
        pairs=pairs("pretrained"),
        not_run=not_run(tables),
        left_out=left_out,
        machines=sorted({r.get(f"tags.{names.MACHINE}", "unknown") for r in finished}),
        commits=sorted({r.get(f"tags.{names.GIT_COMMIT}", "unknown")[:10] for r in finished}),
        runs_read=len(kept),
        hybrid={task: verdict(table, "hybrid", facts) for task, table in tables.items()},
        hybrid_pairs=pairs("hybrid"),
        facts=facts,
    )


def within_lengths(frame: Any) -> float:
    """Spearman within each sequence length (lengths with at least 20 test sequences), weighted by their
    size: a zero-shot log-likelihood summed over residues grows with length, so a plain Spearman can
    rank lengths rather than fitness."""
    lengths = frame["sequence"].str.len().to_numpy()
    parts, weights = [], []
    for length in np.unique(lengths):
        chosen = lengths == length
        if chosen.sum() >= 20:
            value = spearman(frame["target"].to_numpy()[chosen], frame["prediction"].to_numpy()[chosen])
            if math.isfinite(value):
                parts.append(value)
                weights.append(chosen.sum())
    return float(np.average(parts, weights=weights)) if parts else math.nan


def compare(predictions: Predictions, a: Row, b: Row) -> dict[str, float]:
    """Mean-over-seeds test Spearman, row a minus row b, with the two-level bootstrap interval."""
    frames_a, frames_b = predictions(a.runs[0]["run_id"]), predictions(b.runs[0]["run_id"])
    if list(frames_a["sequence"]) != list(frames_b["sequence"]):
        raise ValueError("the two runs were tested on different sequences; they cannot be paired")
    low, high = two_level_interval(scores_of(a.runs, predictions), scores_of(b.runs, predictions))
    return {"difference": a.score - b.score, "low": low, "high": high}
