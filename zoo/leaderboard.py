"""MLflow runs -> the markdown leaderboard. It reads tracking only; no number is typed in."""

from __future__ import annotations

import csv
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from zoo.metrics import bootstrap_spearman, paired_bootstrap_difference, paired_bootstrap_mean_difference


def md(text: Any) -> str:
    """Escape a plugin-supplied string for a markdown table cell."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def latest_per_job(runs: Iterable[dict]) -> list[dict]:
    """One run per job key: the newest successful one, else the newest attempt.

    A job rerun with --force leaves two runs; counting both would double a seed.
    """
    best: dict[str, dict] = {}
    for run in runs:
        key = run.get("tags.job_key") or run["run_id"]
        rank = (run.get("tags.outcome") == "ok", run.get("start_time") or 0)
        if key not in best or rank > best[key][0]:
            best[key] = (rank, run)
    return [run for _, run in best.values()]


def _mean_sd(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{np.mean(values):.3f} ± {np.std(values, ddof=1):.3f}"


def _count(value: Any) -> str:
    """Thousands separators for counts and rates; '–' when a run did not record it."""
    if value is None or value == "":
        return "–"
    number = float(value)
    return f"{number:,.0f}" if number >= 10 or number.is_integer() else f"{number:.1f}"


def full_size(run: dict) -> bool:
    return run.get("tags.train_size", "full") == "full"


def summarise(runs: list[dict]) -> dict[str, list[dict]]:
    """Rows per task, one per (model, profile, clip), best test Spearman first; failed models included.
    Runs on train subsets (learning curves) are left to :func:`learning_curves`."""
    groups: dict[tuple, list[dict]] = {}
    for run in filter(full_size, latest_per_job(runs)):
        key = (run.get("tags.task"), run.get("tags.model"), run.get("tags.profile"),
               run.get("params.clip_predictions"))
        groups.setdefault(key, []).append(run)
    tables: dict[str, list[dict]] = {}
    for (task, model, profile, clip), group in groups.items():
        ok = [r for r in group if r.get("tags.outcome") == "ok"]
        row = {"model": model, "pretrained": group[0].get("tags.pretrained") == "true", "profile": profile,
               "clip": clip == "True", "seeds": len(ok), "plugin": group[0].get("tags.plugin"),
               "notes": group[0].get("tags.data_notes") or ""}
        if ok:
            spearman = [r["metrics.test_spearman"] for r in ok]
            anchor = min(ok, key=lambda r: int(r.get("tags.seed", 0)))  # seed 0: the run CIs and pairs use
            row.update(run_id=anchor["run_id"], ci=(anchor.get("metrics.test_spearman_ci_low"),
                                                   anchor.get("metrics.test_spearman_ci_high")))
            row.update(trainable=anchor.get("params.hp.trainable_parameters"),
                       pretrained_params=anchor.get("tags.pretrained_parameters"),
                       throughput=anchor.get("metrics.test_predict_seq_per_s"),
                       predict_seconds=anchor.get("metrics.test_predict_seconds"))
            row.update(status="ok", score=float(np.mean(spearman)), spearman=_mean_sd(spearman),
                       pearson=f"{np.mean([r['metrics.test_pearson'] for r in ok]):.3f}",
                       mse=f"{np.mean([r['metrics.test_mse'] for r in ok]):.3f}",
                       fit=f"{np.mean([r['metrics.fit_seconds'] for r in ok]):.1f}")
        else:
            last = max(group, key=lambda r: r.get("start_time") or 0)
            row.update(status=last.get("tags.outcome") or "incomplete", score=-np.inf,
                       message=last.get("tags.message") or "the run did not finish")
        tables.setdefault(task, []).append(row)
    for rows in tables.values():
        rows.sort(key=lambda r: (-r["score"], r["model"], r["profile"]))
    return dict(sorted(tables.items()))


def _curve_runs(runs: list[dict]) -> list[dict]:
    """Finished, unclipped runs with their training-set size as ``n``. Clipping raises Spearman, so
    a clipped full-size run would not continue an unclipped curve. Full-size runs logged before
    ``train_sequences`` was recorded take it from another full-size run on the same data files."""
    finished = [r for r in latest_per_job(runs)
                if r.get("tags.outcome") == "ok" and r.get("params.clip_predictions") != "True"]
    full = {(r.get("tags.task"), r.get("tags.data_sha256")): int(r["params.train_sequences"])
            for r in finished if full_size(r) and "params.train_sequences" in r}
    out = []
    for r in finished:
        n = r.get("params.train_sequences") or full.get((r.get("tags.task"), r.get("tags.data_sha256")))
        if n is not None:
            out.append({**r, "n": int(n)})
    return out


def learning_curves(runs: list[dict]) -> dict[str, dict[tuple[str, bool], list[tuple[int, float, float, float]]]]:
    """Per task and (model, pretrained): (train sequences, mean Spearman, mean CI low, mean CI high) by size.

    Only tasks with subsampled runs get curves; the full-size runs join them as the last point."""
    points: dict[str, dict[tuple[str, bool], dict[int, list[dict]]]] = {}
    finished = _curve_runs(runs)
    with_curves = {r.get("tags.task") for r in finished if not full_size(r)}
    for r in finished:
        if r.get("tags.task") not in with_curves:
            continue
        model = (r["tags.model"], r.get("tags.pretrained") == "true")
        points.setdefault(r["tags.task"], {}).setdefault(model, {}).setdefault(r["n"], []).append(r)
    curves = {}
    for task, models in sorted(points.items()):
        curves[task] = {}
        for model, by_size in sorted(models.items()):
            curves[task][model] = [
                (n, float(np.mean([r["metrics.test_spearman"] for r in rs])),
                 float(np.mean([r.get("metrics.test_spearman_ci_low", np.nan) for r in rs])),
                 float(np.mean([r.get("metrics.test_spearman_ci_high", np.nan) for r in rs])))
                for n, rs in sorted(by_size.items())]
    return curves


def curve_pairs(runs: list[dict], curves: dict[tuple[str, bool], list[tuple]],
                predictions: Callable[[str], Any], task: str) -> list[dict]:
    """At each training-set size, the best pretrained and best supervised model (by mean), compared
    by a paired bootstrap: each seed trained both on the same subset, and every seed's difference
    is taken on the same test resamples, then averaged over the seeds both have."""
    by_key = {(r["tags.model"], r["n"], r.get("tags.seed")): r["run_id"]
              for r in _curve_runs(runs) if r.get("tags.task") == task}
    rows = []
    for n in sorted({p[0] for pts in curves.values() for p in pts}):
        best: dict[bool, tuple[float, str]] = {}
        for (model, pretrained), pts in curves.items():
            score = next((p[1] for p in pts if p[0] == n), None)
            if score is not None and score > best.get(pretrained, (-np.inf, ""))[0]:
                best[pretrained] = (score, model)
        if True not in best or False not in best:
            continue
        (pre_score, pre), (sup_score, sup) = best[True], best[False]
        seeds = sorted({k[2] for k in by_key if k[:2] == (pre, n)} & {k[2] for k in by_key if k[:2] == (sup, n)})
        a = [predictions(by_key[(pre, n, s)]) for s in seeds]
        b = [predictions(by_key[(sup, n, s)]) for s in seeds]
        if not seeds or any(list(x["sequence"]) != list(y["sequence"]) for x, y in zip(a, b)):
            continue
        paired = paired_bootstrap_mean_difference(a[0]["target"].to_numpy(), [x["prediction"].to_numpy() for x in a],
                                                  [y["prediction"].to_numpy() for y in b])
        rows.append({"n": n, "pre": pre, "pre_score": pre_score, "sup": sup, "sup_score": sup_score,
                     "seeds": len(seeds), **paired, "word": _word(paired)})
    return rows


def _word(paired: dict[str, float]) -> str:
    return "helps" if paired["low"] > 0 else "does not help" if paired["high"] < 0 else "inconclusive"


def curve_statement(task: str, pairs: list[dict]) -> str:
    """Where, if anywhere, pretraining beats supervised training along the curve (paired intervals)."""
    if not pairs:
        return f"**{task}:** no size has both a pretrained and a supervised run yet."
    parts = []
    for word in ("helps", "inconclusive", "does not help"):
        sizes = [f"N={p['n']:,}" for p in pairs if p["word"] == word]
        if sizes:
            parts.append(f"pretraining {word} at {', '.join(sizes)}" if word != "inconclusive"
                         else f"inconclusive at {', '.join(sizes)}")
    return f"**{task}:** {'; '.join(parts)} (paired bootstrap 95% CI of the seed-averaged difference)."


def curve_table(pairs: list[dict]) -> list[str]:
    out = ["| train N | best supervised | best pretrained | pretrained − supervised, seed mean (95% CI) | seeds | verdict |",
           "|---|---|---|---|---|---|"]
    for p in pairs:
        out.append(f"| {p['n']:,} | {md(p['sup'])} {p['sup_score']:.3f} | {md(p['pre'])} {p['pre_score']:.3f} | "
                   f"{p['difference']:+.3f} ({p['low']:+.3f} to {p['high']:+.3f}) | {p['seeds']} | {p['word']} |")
    return out


def _best(rows: list[dict]) -> tuple[dict | None, dict | None]:
    """Best pretrained and best supervised row. Clipped rows are compared only when nothing else
    finished: clipping ties predictions at the bounds and raises Spearman, so a clipped row
    against an unclipped one is not a fair pair."""
    ok = [r for r in rows if r["status"] == "ok" and not r["clip"]] or [r for r in rows if r["status"] == "ok"]
    return (next((r for r in ok if r["pretrained"]), None), next((r for r in ok if not r["pretrained"]), None))


def compare(predictions: Callable[[str], Any], run_a: str, run_b: str) -> dict[str, float]:
    """Paired bootstrap of test Spearman, run a minus run b, over the same test resamples."""
    a, b = predictions(run_a), predictions(run_b)
    if list(a["sequence"]) != list(b["sequence"]):
        raise ValueError("the two runs were tested on different sequences; they cannot be paired")
    return paired_bootstrap_difference(a["target"].to_numpy(), a["prediction"].to_numpy(), b["prediction"].to_numpy())


def verdict(task: str, rows: list[dict], paired: dict[str, float] | None = None) -> str:
    pre, sup = _best(rows)
    if not sup and not pre:
        return f"**{task}:** no model has finished on this task yet."
    if not pre:
        missing = sorted({md(r["model"]) for r in rows if r["pretrained"]})
        names = ", ".join(missing) if len(missing) <= 3 else f"{len(missing)} pretrained models, listed below,"
        why = f" ({names} did not finish)" if missing else ""
        return (f"**{task}:** no pretrained model has finished here yet{why}, so this board cannot say whether "
                f"pretraining helps. Best supervised: {md(sup['model'])} at {sup['score']:.3f}.")
    if not sup:
        return f"**{task}:** no supervised model has finished; best pretrained: {md(pre['model'])} at {pre['score']:.3f}."
    diff = pre["score"] - sup["score"]
    head = (f"best pretrained {md(pre['model'])} {pre['score']:.3f} vs best supervised {md(sup['model'])} "
            f"{sup['score']:.3f} (difference of means {diff:+.3f} test Spearman")
    if paired is None:
        word = "helped" if diff > 0 else "did not help"
        return f"**{task}:** pretraining {word}: {head})."
    word = _word(paired) if _word(paired) == "inconclusive" else f"pretraining {_word(paired)}"
    return (f"**{task}:** {word}: {head}; paired bootstrap on the seed-0 runs {paired['difference']:+.3f}, "
            f"95% CI {paired['low']:+.3f} to {paired['high']:+.3f}).")


def read_reference(path: str | Path | None) -> list[dict]:
    if not path or not Path(path).exists():
        return []
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def default_reference_path(data_dir: str | None) -> Path | None:
    if os.environ.get("ZOO_REFERENCE"):
        return Path(os.environ["ZOO_REFERENCE"])
    if data_dir:
        candidate = Path(data_dir).resolve().parent / "reference" / "published_results.csv"
        if candidate.exists():
            return candidate
    return None


def render(runs: list[dict], reference: list[dict] | None = None, *, reference_path: str | None = None,
           predictions: Callable[[str], Any] | None = None, figure_dir: str | Path | None = None) -> str:
    """The leaderboard. With ``predictions`` (run id -> its test predictions), each task's best
    pretrained and best supervised models are compared by a paired bootstrap. With ``figure_dir``,
    a bar chart per task is drawn there (``<task>.png``) and embedded."""
    tables = summarise(runs)
    paired = {}
    for task, rows in tables.items():
        for r in rows:  # runs logged before intervals existed: compute from their stored predictions
            if predictions and r["status"] == "ok" and (None in r["ci"] or r["throughput"] is None):
                frame = predictions(r["run_id"])
                if None in r["ci"]:
                    r["ci"] = bootstrap_spearman(frame["target"].to_numpy(), frame["prediction"].to_numpy())
                if r["throughput"] is None and r["predict_seconds"]:
                    r["throughput"] = len(frame) / r["predict_seconds"]
        pre, sup = _best(rows)
        if predictions and pre and sup:
            paired[task] = compare(predictions, pre["run_id"], sup["run_id"])
    finished = [r for r in latest_per_job(runs) if r.get("tags.outcome") == "ok"]
    machines = sorted({r.get("tags.machine", "unknown") for r in finished})
    commits = sorted({r.get("tags.git_commit", "unknown")[:10] for r in finished})
    profiles = sorted({r.get("tags.profile", "unknown") for r in finished})
    out = ["# protein-zoo leaderboard", "",
           "Is pretraining necessary for protein fitness-landscape prediction? Test-set Spearman, from the "
           "runs recorded in MLflow. Generated by `zoo leaderboard`; do not edit by hand.", "",
           f"- Generated: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
           f"- Machine(s): {'; '.join(md(m) for m in machines) or 'none'}",
           f"- Code commit(s): {', '.join(commits) or 'none'}",
           f"- Profile(s): {', '.join(md(p) for p in profiles) or 'none'} (per row in the tables)",
           "- Mean ± sd over seeds; `clip` = test predictions clipped to the training-label range "
           "(the paper's practice, on in the `paper` profile). Verdicts pair unclipped rows: clipping ties "
           "predictions at the bounds and raises Spearman.", ""]
    if not tables:
        out += ["No runs recorded yet. Run `zoo eval --all`, then `zoo leaderboard`.", ""]
    curves = learning_curves(runs)
    pairs = {task: curve_pairs(runs, c, predictions, task) if predictions else [] for task, c in curves.items()}
    out += ["## Verdicts", "",
            "| task | best supervised | best pretrained | pretrained − supervised (95% CI) | verdict | "
            "learning curve: pretraining helps at |",
            "|---|---|---|---|---|---|"]
    for task, rows in tables.items():
        pre, sup = _best(rows)
        cell = lambda r: f"{md(r['model'])} {r['score']:.3f}" if r else "none finished"  # noqa: E731
        p = paired.get(task)
        diff = f"{p['difference']:+.3f} ({p['low']:+.3f} to {p['high']:+.3f})" if p else "–"
        word = _word(p) if p else "no verdict"
        helps = [f"{q['n']:,}" for q in pairs.get(task, []) if q["word"] == "helps"]
        low_n = ("N = " + ", ".join(helps) if helps else "no size") if pairs.get(task) else "not run"
        out.append(f"| {md(task)} | {cell(sup)} | {cell(pre)} | {diff} | {word} | {low_n} |")
    out += [""] + [f"- {verdict(task, rows, paired.get(task))}" for task, rows in tables.items()] + [""]
    for task, rows in tables.items():
        out += [f"## {task}", ""]
        if figure_dir is not None:
            from zoo import figures

            figures.task_bars(task, rows, reference or [], Path(figure_dir) / f"{task}.png")
            out += [f"![{md(task)}: test Spearman by model]({task}.png)", ""]
        out += [
                "| model | pretrained | test Spearman | 95% CI (seed 0) | Pearson | MSE | seeds | profile | clip | "
                "fit s | predict seq/s | trainable params | pretrained params |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            pre = "yes" if r["pretrained"] else "no"
            clip = "yes" if r["clip"] else "no"
            if r["status"] == "ok":
                low, high = r["ci"]
                ci = f"{low:.3f}–{high:.3f}" if low is not None and high is not None else "–"
                out.append(f"| {md(r['model'])} | {pre} | {r['spearman']} | {ci} | {r['pearson']} | {r['mse']} | "
                           f"{r['seeds']} | {md(r['profile'])} | {clip} | {r['fit']} | {_count(r['throughput'])} | "
                           f"{_count(r['trainable'])} | {_count(r['pretrained_params'])} |")
            else:
                out.append(f"| {md(r['model'])} | {pre} | not run: {md(r['status'])}, {md(r['message'][:160])} "
                           f"| – | – | – | 0 | {md(r['profile'])} | {clip} | – | – | – | – |")
        absent = sorted({r["model"] for rs in tables.values() for r in rs} - {r["model"] for r in rows})
        if absent:  # a model that ran elsewhere but never here is named, not silently missing
            out += ["", f"Not run on {md(task)} yet: {', '.join(md(m) for m in absent)}."]
        notes = sorted({r["notes"] for r in rows if r["notes"]})
        if notes:
            out += ["", f"Data notes: {md('; '.join(notes))}."]
        out.append("")
    if curves:
        out += ["## Learning curves", "",
                "Test Spearman against the number of training sequences (nested, seeded subsets of the train "
                "split; valid and test stay whole). Mean over seeds; bands: mean seed bootstrap 95% CI.", ""]
        for task, task_curves in curves.items():
            if figure_dir is not None:
                from zoo import figures

                figures.learning_curve(task, task_curves, Path(figure_dir) / f"{task}_learning_curve.png")
                out += [f"![{md(task)}: learning curves]({task}_learning_curve.png)", ""]
            out += [f"- {curve_statement(task, pairs[task])}", ""] + (curve_table(pairs[task]) + [""] if pairs[task] else [])
    if reference:
        out += ["## Published reference numbers (not run here)", "",
                f"Copied from `{md(reference_path or 'published_results.csv')}` with their sources, for "
                f"comparison only; they are not MLflow runs of this zoo.", "",
                "| task | model | pretrained | test Spearman | source |", "|---|---|---|---|---|"]
        for r in sorted(reference, key=lambda r: (r["task"], -float(r["spearman"]))):
            out.append(f"| {md(r['task'])} | {md(r['model'])} | {md(r['pretrained'])} | {md(r['spearman'])} | "
                       f"{md(r['source'])} |")
        out.append("")
    return "\n".join(out)


def write_atomic(path: str | Path, text: str) -> None:
    """Write to a temporary file beside ``path`` and rename it in, so a reader never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)
