"""Pictures with matplotlib (imported lazily, Agg backend): a scatter per run, a bar chart per task."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from zoo import names

SUPERVISED, PRETRAINED, REFERENCE = "#4C72B0", "#DD8452", "#2ca02c"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed, none opened
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | Path) -> Path:
    """Write beside the target and rename, so a reader never sees half a picture."""
    from zoo.files import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format=Path(path).suffix.lstrip(".") or "png")
    return Path(path)


def scatter(targets: np.ndarray, predictions: np.ndarray, title: str, path: str | Path) -> Path:
    """Predicted against true on the test set, Spearman in the title."""
    from scipy.stats import spearmanr

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.scatter(targets, predictions, s=4, alpha=0.3, linewidths=0)
    ax.set_xlabel("true")
    ax.set_ylabel("predicted")
    ax.set_title(f"{title}\nSpearman {spearmanr(targets, predictions).statistic:.3f}", fontsize=10)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
    return Path(path)


def task_bars(task: str, rows: list[Any], reference: list[dict[str, str]], path: str | Path) -> Path:
    """Mean test Spearman per configuration (a :class:`zoo.analysis.Row`) with its 95% interval;
    pretrained and supervised in two colours; published numbers as markers, labelled as such."""
    plt = _pyplot()
    ok = [r for r in rows if r.ok]
    refs = [r for r in reference if r["task"] == task]
    fig, ax = plt.subplots(figsize=(7, 0.4 * (len(ok) + len(refs)) + 1.8))
    labels, y = [], 0
    for r in ok:
        ax.barh(y, r.score, color=PRETRAINED if r.pretrained else SUPERVISED)
        low, high = r.ci
        if np.isfinite(low) and np.isfinite(high):
            ax.plot([low, high], [y, y], color="black", marker="|", markersize=8, linewidth=1)
        labels.append(r.label)
        y += 1
    for r in refs:
        ax.plot(float(r["spearman"]), y, marker="D", color=REFERENCE)
        labels.append(f"published: {r['model']}")
        y += 1
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.invert_yaxis()
    # min over a list: with nothing finished and no reference (only failures) there is one value
    ax.set_xlim(min([0.0, *(r.score for r in ok), *(float(r["spearman"]) for r in refs)]) - 0.02, 1.0)
    ax.set_xlabel("test Spearman")
    ax.set_title(f"{task}\nbars: mean over seeds; lines: 95% CI (test items and seeds resampled)", fontsize=10)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in (SUPERVISED, PRETRAINED)]
    handles.append(plt.Line2D([], [], marker="D", color=REFERENCE, linestyle=""))
    ax.legend(
        handles,
        ["supervised", "pretrained", "published (not run here)"],
        fontsize=8,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.12),
        ncol=3,
        frameon=False,
    )
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
    return Path(path)


def drawn_curves(curves: dict[str, Any]) -> dict[str, Any]:
    """What a learning-curve figure draws: configurations run at two sizes or more, and zero-shot
    levels. One run at one size (an option tried on the full split) is a row of the task's table and
    bar chart; as a lone marker it only crowded the legend and made the colours repeat."""
    drawn = {
        key: c for key, c in curves.items() if len(c.points) >= 2 or (c.points and all(p.n == 0 for p in c.points))
    }
    return drawn or curves


def learning_curve(task: str, curves: dict[str, Any], path: str | Path) -> Path:
    """Spearman against training-set size on a log axis: a line per configuration (a
    :class:`zoo.analysis.Curve`), each in its own colour; pretrained lines solid with circles,
    supervised ones dashed with squares, zero-shot ones a dotted level (no label read, so the same at
    every N); bands: mean of the runs' test-set bootstrap intervals. Only :func:`drawn_curves`."""
    curves = drawn_curves(curves)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9.5, 4.8))
    colours = plt.cm.tab10(np.arange(10)) if len(curves) <= 10 else plt.cm.tab20(np.arange(20))
    trained = [p.n for c in curves.values() for p in c.points if p.n > 0]
    span = np.array([min(trained), max(trained)], dtype=float) if trained else np.array([1.0, 10.0])
    for i, curve in enumerate(curves.values()):
        zero_shot = all(p.n == 0 for p in curve.points)  # read no label: one level at every N (log axis has no 0)
        n = span if zero_shot else np.array([p.n for p in curve.points], dtype=float)
        points = curve.points * 2 if zero_shot else curve.points
        mean = np.array([p.mean for p in points])
        low = np.array([p.mean_metric(names.CI_LOW) for p in points])
        high = np.array([p.mean_metric(names.CI_HIGH) for p in points])
        color = colours[i % len(colours)]
        style = dict(marker="o", linestyle="-") if curve.pretrained else dict(marker="s", linestyle="--")
        if zero_shot:
            style = dict(marker="", linestyle=":")
        label = f"{curve.label} ({curve.approach}"
        ax.plot(n, mean, color=color, label=label + (", N = 0)" if zero_shot else ")"), **style)
        known = np.isfinite(low) & np.isfinite(high)
        ax.fill_between(n, np.where(known, low, mean), np.where(known, high, mean), color=color, alpha=0.12)
    ax.set_xscale("log")
    ax.set_xlabel("training sequences (log scale)")
    ax.set_ylabel("test Spearman")
    ax.set_title(f"{task}: learning curves", fontsize=10)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))  # beside the axes: many curves
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
    return Path(path)


def summary(verdicts: dict[str, Any], hybrid: dict[str, Any], path: str | Path) -> Path:
    """Per task, each side's best minus the best supervised (a :class:`zoo.analysis.Verdict`) with its 95%
    interval: pretrained and hybrid side by side; a hollow marker where the verdict has no word yet."""
    plt = _pyplot()
    tasks = list(verdicts)
    fig, ax = plt.subplots(figsize=(6.4, 0.42 * len(tasks) + 1.3))
    for offset, (name, found, colour) in enumerate(
        (("pretrained", verdicts, PRETRAINED), ("hybrid (augmented)", hybrid, REFERENCE))
    ):
        first = True
        for i, task in enumerate(tasks):
            v = found.get(task)
            if v is None:
                continue
            y = i + (offset - 0.5) * 0.3
            ax.errorbar(
                v.difference,
                y,
                xerr=[[v.difference - v.low], [v.high - v.difference]],
                fmt="o",
                color=colour,
                mfc=colour if not v.missing else "white",
                capsize=3,
                label=name if first else None,
            )
            first = False
    ax.axvline(0, color="grey", lw=1)
    ax.set_yticks(range(len(tasks)), tasks)
    ax.invert_yaxis()
    ax.set_xlabel("test Spearman minus the best supervised model's (95% CI)")
    if ax.get_legend_handles_labels()[1]:  # nothing labelled when no task has a verdict
        ax.legend(
            loc="upper center",
            bbox_to_anchor=(0.5, -0.2),
            ncol=2,
            fontsize=8,
            title="hollow: no verdict word yet",
            title_fontsize=7,
        )
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
    return Path(path)
