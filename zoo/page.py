"""The leaderboard pages: markdown made from a :class:`zoo.analysis.Board`, one helper per section.

:func:`pages` gives the front page (``README.md``: the answer in one generated paragraph, the verdict
table with its caveats, a summary figure, links), one page per task (``tasks/<task>.md``: every
configuration, the learning curves) and ``details.md`` (capacity, fine-tuned training, zero-shot,
models that did not run, published numbers). :func:`render` is all of them as one text.

Pure: no file is read or written here (figures are named, not drawn). Every string that came from
a plugin, a run or a data file goes through :func:`md`, so it can never become a link, an image
or HTML on the page.
"""

from __future__ import annotations

import math
import re
import time
from typing import Any

from zoo import names
from zoo.analysis import (
    MIN_SEEDS,
    MIN_VALID_ROWS,
    VALID_RANKS_TEST,
    Board,
    Curve,
    Pair,
    Row,
    Verdict,
    best,
    chance_word,
    zero_shot,
)
from zoo.contract import ZERO_SHOT
from zoo.messages import keep_fix

PROTOCOL = (
    "How to read it: each row is one configuration (model, plugin version, options, profile, clipping, data); "
    "a run on a GPU is a row of its own, named 'on <GPU>', never averaged with the CPU's seeds. "
    "Test Spearman is the mean over seeds ± sd; its 95% CI and every verdict's come from a two-level "
    "bootstrap that resamples test items and seeds, so they carry training noise as well as test-set noise. "
    "Every model selects its hyperparameters, epochs or ridge alpha on the valid split, and at a training "
    "size N on a seeded valid subset of about N/4 rows, the same for every model (docs/models.md, "
    '"Selection budget"). `clip` = test predictions clipped to the training-label range (the paper\'s '
    "practice, on in the `paper` profile); verdicts pair unclipped rows. Each side's best configuration "
    "(in the verdicts and at each training size) is the one with the best mean valid Spearman: test never "
    "chooses, so the side with more configurations gains nothing from the noise in their test scores. "
    "Three sides: supervised; pretrained (frozen, fine-tuned, zero-shot); hybrid (augmented: a one-hot ridge "
    "plus a pretrained feature, which contains the supervised side). The headline verdict is pretrained "
    f"against supervised; hybrid against supervised is the second. A verdict word needs both picks chosen on "
    f"valid ({MIN_VALID_ROWS} rows or more, else 'not determinable') and each deterministic or run with "
    f"{MIN_SEEDS} seeds or more (else 'provisional', with the command that adds the seeds). On the learning "
    "curves a pick is ranked by its Spearman on the valid rows its runs could select on (about N/4), "
    "recorded as `selection_spearman`. 'Valid does not rank configurations here': across a side's "
    f"configurations, valid and test scores correlate below {VALID_RANKS_TEST} (Spearman), so a pick by "
    "valid is close to noise. Headline numbers are recomputed from the stored (float32) test predictions."
)


def md(text: Any) -> str:
    """Escape untrusted text for a markdown table cell or line: no table breaks, HTML, links or images."""
    out = str(text).replace("\\", "\\\\").replace("<", "&lt;")
    for char in "|[]`":
        out = out.replace(char, "\\" + char)
    return " ".join(out.split())


_LOCAL_PATH = re.compile(r"(?<![\w:/.~-])/(?:[^\s/]+/)+")


def no_paths(text: str) -> str:
    """A message without the folders of the machine that made it (the page is published): an absolute
    path keeps only its file name, ``/root/.cache/x/model.pt`` becomes ``…/model.pt``. URLs stay whole."""
    return _LOCAL_PATH.sub("…/", text)


def _f(value: float, signed: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def _count(value: Any) -> str:
    """Thousands separators for counts and rates; '–' when a run did not record it."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "–"
    if not math.isfinite(number):
        return "–"
    return f"{number:,.0f}" if number >= 10 or number.is_integer() else f"{number:.1f}"


def render(
    board: Board,
    reference: list[dict] | None = None,
    *,
    reference_name: str = "published.csv",
    figures: dict[str, str] | None = None,
    generated: str | None = None,
) -> str:
    """Every page as one text (``--output -``, tests)."""
    made = pages(board, reference, reference_name=reference_name, figures=figures, generated=generated)
    return "\n".join(made.values())


def pages(
    board: Board,
    reference: list[dict] | None = None,
    *,
    reference_name: str = "published.csv",
    figures: dict[str, str] | None = None,
    generated: str | None = None,
) -> dict[str, str]:
    """File name (relative to the front page's folder) -> markdown. ``figures`` maps ``summary``, ``<task>``
    and ``<task>_learning_curve`` to image paths relative to that folder; ``generated`` fixes the stamp."""
    figures = figures or {}
    out = {"README.md": "\n".join(front(board, figures, generated))}
    for task, table in board.tables.items():
        out[f"tasks/{task}.md"] = "\n".join(task_page(board, task, table, figures))
    details = capacity_section(board) + training_section(board) + zero_shot_section(board)
    details += not_run_section(board) + reference_section(reference or [], reference_name)
    top = ["# protein-zoo leaderboard: details", "", "[Back to the answer](README.md)", ""]
    out["details.md"] = "\n".join(top + details)
    return out


def _relative(path: str, page: str) -> str:
    """A figure path (relative to the front page) as seen from ``page``."""
    return path.removeprefix("tasks/") if page.startswith("tasks/") else path


def front(board: Board, figures: dict[str, str], generated: str | None) -> list[str]:
    out = ["# Is pretraining necessary for protein fitness prediction?", ""]
    if not board.tables:
        return out + ["No runs recorded yet. Run `zoo eval --all`, then `zoo leaderboard`.", ""]
    out += [answer(board), ""] + verdicts(board)
    if figures.get("summary"):
        out += [
            f"![Each task's difference in test Spearman against the best supervised model]({figures['summary']})",
            "",
        ]
    links = " · ".join(f"[{md(t)}](tasks/{t}.md)" for t in board.tables)
    out += [
        f"Every configuration, figure and learning curve, per task: {links}. Capacity, fine-tuned training, "
        "zero-shot, the models that did not run and published reference numbers: [details](details.md).",
        "",
    ]
    missing = sorted({r.label for table in board.tables.values() for r in table if not r.ok})
    if missing:
        out += [
            f"{len(missing)} configurations did not finish somewhere; "
            "[details](details.md#models-that-did-not-run) says why.",
            "",
        ]
    return out + footer(board, generated)


def footer(board: Board, generated: str | None) -> list[str]:
    stamp = generated or time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return [
        "---",
        "",
        f"Generated by `zoo leaderboard` from the runs recorded in MLflow ({stamp}); do not edit by hand. "
        f"Runs used: {board.runs_read} (one per job, on each task's newest data). "
        f"Machine(s): {'; '.join(md(m) for m in board.machines) or 'none'}. "
        f"Code commit(s): {', '.join(md(c) for c in board.commits) or 'none'}.",
        "",
        PROTOCOL,
        "",
    ]


def answer(board: Board) -> str:
    """The answer in one paragraph, generated from the verdicts and the curves (never typed by hand)."""
    worded = {t: v.word for t, v in board.verdicts.items() if v is not None and not v.missing}
    phrases = {
        "helps": "pretraining helps on",
        "does not help": "pretraining does not help on",
        "inconclusive": "it is inconclusive on",
    }
    parts = [f"{phrases[w]} {_join([t for t, x in worded.items() if x == w])}" for w in phrases if w in worded.values()]
    text = f"Across the {len(board.tables)} tasks, {'; '.join(parts) if parts else 'no verdict has a word yet'}."
    short_of = [f"{v.word} on {t}" for t, v in board.verdicts.items() if v is not None and v.missing]
    if short_of:
        text += f" No verdict word where the evidence is short: {'; '.join(short_of)}."
    helps = {t: [p.n for p in ps if p.word == "helps"] for t, ps in board.pairs.items()}
    helps = {t: ns for t, ns in helps.items() if ns}
    if helps:
        text += (
            " On the learning curves, pretraining helps at "
            + "; ".join(f"N = {', '.join(f'{n:,}' for n in ns)} on {t}" for t, ns in helps.items())
            + "."
        )
    undecided = sorted({t for t, ps in board.pairs.items() if any(p.word.startswith("not determinable") for p in ps)})
    if undecided:
        text += (
            f" The learning curves of {_join(undecided)} give no verdict yet: their runs predate the score on the "
            "selection split that picks are now ranked by."
        )
    hybrid: dict[str, list[str]] = {}
    for t, v in board.hybrid.items():
        if v is not None and not v.missing:
            hybrid.setdefault(v.word, []).append(t)
    if hybrid:
        pieces = "; ".join(f"{w} on {_join(ts)}" for w, ts in hybrid.items())
        text += f" Hybrid (one-hot plus a pretrained feature) against supervised: {pieces}."
    flagged = {
        t: [c for c in v.caveats if "FLIP" in c or "valid does not" in c] for t, v in board.verdicts.items() if v
    }
    flagged = {t: cs for t, cs in flagged.items() if cs}
    if flagged:
        text += " Caveats: " + "; ".join(f"{t}: {', '.join(cs)}" for t, cs in flagged.items()) + "."
    return md(text)


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1] if items else ""


SHORT = 34


def short(row: Row | None) -> str:
    """A pick's label on the front page: its full label up to SHORT characters, else the model and '…'."""
    if row is None:
        return "none finished"
    label = row.label if len(row.label) <= SHORT else f"{row.model} (…)"
    return f"{md(label)} ({md(row.approach)}) {_f(row.score)}"


def _cell(row: Row | None) -> str:
    """A row's label and score; a pretrained row says how it used pretraining (frozen, fine-tuned, ...)."""
    if row is None:
        return "none finished"
    approach = f" ({md(row.approach)})" if row.pretrained else ""
    return f"{md(row.label)}{approach} {_f(row.score)}"


def verdicts(board: Board) -> list[str]:
    out = [
        "| task | best supervised | best pretrained | pretrained − supervised (95% CI) | verdict | best hybrid | "
        "hybrid − supervised (95% CI) | verdict | caveats |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for task, table in board.tables.items():
        v, h = board.verdicts.get(task), board.hybrid.get(task)
        pre, sup = (v.pre, v.sup) if v else best(table)
        caveats = list(dict.fromkeys((v.caveats if v else []) + (h.caveats if h else [])))
        out.append(
            f"| [{md(task)}](tasks/{task}.md) | {short(sup)} | {short(pre)} | {_diff(v)} | {_word(v)} | "
            f"{short(h.pre) if h else '–'} | {_diff(h)} | {_word(h)} | {md('; '.join(caveats)) or '–'} |"
        )
    return out + [""]


def _diff(v: Verdict | None) -> str:
    return f"{_f(v.difference, True)} ({_f(v.low, True)} to {_f(v.high, True)})" if v else "–"


def _word(v: Verdict | None) -> str:
    return "no verdict" if v is None else f"**{v.word}**" if not v.missing else v.word


def verdict_line(task: str, table: list[Row], v: Verdict | None) -> str:
    ok = [r for r in table if r.ok]
    pre, sup = best(table)  # unclipped rows first: the same choice as the verdict's
    if not ok:
        return f"**{md(task)}:** no model has finished on this task yet."
    if pre is None:
        return (
            f"**{md(task)}:** no pretrained model has finished here, so this board cannot say whether "
            f"pretraining helps. Best supervised: {_cell(sup)}."
        )
    if sup is None:
        return f"**{md(task)}:** no supervised model has finished; best pretrained: {_cell(pre)}."
    if v is None:
        return (
            f"**{md(task)}:** best pretrained {_cell(pre)} vs best supervised {_cell(sup)} (no interval: "
            f"predictions unavailable).{_chosen_on_test(pre, sup)}"
        )
    side = "hybrid" if v.side == "hybrid" else "pretrained"
    head = (
        v.word
        if v.missing or v.word == "inconclusive"
        else f"{'the hybrid' if v.side == 'hybrid' else 'pretraining'} {v.word}"
    )
    seeds = f"{len(v.pre.runs)} and {len(v.sup.runs)} seed(s)"
    diagnostic = (
        f" (the interval alone would read '{v.interval_word}': a diagnostic, not a verdict)" if v.missing else ""
    )
    text = (
        f"**{md(task)}:** {head}: best {side} {_cell(v.pre)} vs best supervised {_cell(v.sup)}; "
        f"difference of seed means {_f(v.difference, True)}, 95% CI {_f(v.low, True)} to {_f(v.high, True)}"
        f"{diagnostic} (two-level bootstrap over test items and seeds; {seeds}).{_chosen_on_test(v.pre, v.sup)}"
    )
    if v.caveats:
        text += f" Caveats: {md('; '.join(v.caveats))}."
    if v.commands:
        text += " The seeds a verdict word needs: " + "; ".join(f"`{md(c)}`" for c in v.commands) + "."
    return text


def _chosen_on_test(*sides: Row) -> str:
    """Said wherever a side could not be chosen on valid, so the reader knows test chose it."""
    if all(r.chosen_on_valid for r in sides):
        return ""
    rows = next((r.valid_rows for r in sides if r.valid_rows is not None), None)
    why = f"its valid split has {rows} row(s)" if rows is not None else "no valid score was recorded"
    return (
        f" **Chosen on test:** {why}, too few to rank configurations (fewer than {MIN_VALID_ROWS}), so "
        f"each side's best is its highest test score, which flatters the side with more configurations."
    )


def task_page(board: Board, task: str, table: list[Row], figures: dict[str, str]) -> list[str]:
    """One task: both verdicts in words, every configuration, and its learning curves."""
    out = [f"# {md(task)}", "", "[Back to the answer](../README.md)", ""]
    out += [f"- {verdict_line(task, table, board.verdicts.get(task))}"]
    h = board.hybrid.get(task)
    if h is not None:
        out += [f"- {verdict_line(task, table, h)}"]
    out += [""]
    out += task_section(task, table, board.left_out.get(task), figures.get(task))
    fitted = sorted({r.label for r in table if r.ok and r.model in board.facts.fits_on_selection})
    if fitted:
        out += [
            f"Shown, never a pick: {', '.join(md(f) for f in fitted)}: each fits parameters (a blend weight) on "
            "the valid split, so its valid score is its own fit's and cannot rank it against the others.",
            "",
        ]
    if task in board.curves:
        out += curve_section(board, task, figures)
    return out


def task_section(task: str, table: list[Row], left_out: str | None, figure: str | None) -> list[str]:
    out = ["## Every configuration", ""]
    if figure:
        out += [f"![{md(task)}: test Spearman by configuration]({_relative(figure, 'tasks/')})", ""]
    out += [
        "| configuration | approach | test Spearman | 95% CI | Pearson | MSE | seeds | profile | clip | fit s | "
        "predict seq/s | trainable params | pretrained params |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in (r for r in table if r.ok):
        spearman = _f(r.score) + (f" ± {r.sd:.3f}" if math.isfinite(r.sd) else "")
        ci = f"{_f(r.ci[0])}–{_f(r.ci[1])}" if math.isfinite(r.ci[0]) else "–"
        # a summed log-likelihood is on no scale of the targets: its Pearson and MSE mean nothing
        pearson, mse = (
            ("–", "–")
            if r.approach == ZERO_SHOT
            else (
                _f(r.metric(names.TEST_PEARSON)),
                _f(r.metric(names.TEST_MSE)),
            )
        )
        out.append(
            f"| {md(r.label)} | {md(r.approach)} | {spearman} | {ci} | {pearson} | {mse} | {len(r.runs)} | "
            f"{md(r.profile)} | {'yes' if r.clip else 'no'} | {r.metric(names.FIT_SECONDS):.1f} | "
            f"{_count(r.metric(names.THROUGHPUT))} | {_count(r.first(f'params.{names.TRAINABLE}'))} | "
            f"{_count(r.first(f'tags.{names.PRETRAINED_PARAMETERS}'))} |"
        )
    missing = sorted({r.label for r in table if not r.ok})
    if missing:
        out += [
            "",
            f"Did not finish here: {', '.join(md(m) for m in missing)} ([why](../details.md#models-that-did-not-run)).",
        ]
    notes = sorted({r.notes for r in table if r.notes})
    if notes:
        out += ["", f"Data notes: {md(no_paths('; '.join(notes)))}."]
    if left_out:
        out += ["", f"Left out: {md(left_out)}."]
    return out + [""]


CAPACITY = ("frozen", "fine-tuned", "pretrained")  # the representation alone; zero-shot and augmented have their own


def capacity_section(board: Board) -> list[str]:
    """Does more pretrained capacity help? Test Spearman of each frozen or fine-tuned configuration that
    ran, by task, its columns ordered by pretrained parameters (full training split, unclipped rows)."""
    cells: dict[str, dict[str, float]] = {}
    size: dict[str, float] = {}
    for task, table in board.tables.items():
        for r in table:
            if r.ok and r.approach in CAPACITY and not r.clip:
                cells.setdefault(r.label, {})[task] = r.score
                size[r.label] = float(r.first(f"tags.{names.PRETRAINED_PARAMETERS}") or 0)
    if len(cells) < 2:
        return []
    labels = sorted(cells, key=lambda label: (size[label], label))
    out = [
        "## Pretrained capacity",
        "",
        "Test Spearman of each frozen or fine-tuned pretrained configuration, ordered by its pretrained "
        "parameters: does more pretrained capacity help? (Full training split; – where it did not run.)",
        "",
        "| task | " + " | ".join(f"{md(label)} ({_count(size[label])})" for label in labels) + " |",
        "|---|" + "---|" * len(labels),
    ]
    for task in board.tables:
        out.append(f"| {md(task)} | " + " | ".join(_f(cells[label].get(task, math.nan)) for label in labels) + " |")
    return out + [""]


def training_section(board: Board) -> list[str]:
    """How long each fine-tuned configuration trained and which checkpoint it kept (one value per seed),
    from what the model reported (``names.EPOCHS_DONE`` …): a capped or bounded run reads as such."""
    found = [(task, r) for task, table in board.tables.items() for r in table if r.ok and r.approach == "fine-tuned"]
    if not found:
        return []
    out = [
        "## Fine-tuned training",
        "",
        "How long each fine-tuned configuration trained, which checkpoint it kept (the epoch with the best "
        "valid Spearman) and why it stopped: early stopping on valid, the epoch cap (valid may still have been "
        "rising), or a step or time bound (not converged). One value per seed.",
        "",
        "| task | configuration | epochs run (of cap) | steps | checkpoint kept | how it ended | valid | test |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for task, r in found:
        kept = _each(r, names.BEST_EPOCH)
        kept_text = (
            "epoch " + ", ".join(kept)
            if "–" not in kept
            else "; ".join(f"epoch {k}" if k != "–" else "the last step (no epoch finished)" for k in kept)
        )
        ended = "; ".join(dict.fromkeys(_how_it_ended(run) for run in r.runs))
        out.append(
            f"| {md(task)} | {md(r.label)} | {md(', '.join(_each(r, names.EPOCHS_DONE)))} of "
            f"{md(', '.join(dict.fromkeys(_each(r, names.EPOCH_CAP))))} | "
            f"{', '.join(_count(s) for s in _each(r, names.STEPS_DONE))} | {md(kept_text)} | {ended} | "
            f"{_f(r.valid)} | {_f(r.score)} |"
        )
    return out + [""]


def _each(row: Row, param: str) -> list[str]:
    """A param's value in each seed's run, in seed order; '–' where a run did not report it."""
    return [str(v) if (v := run.get(f"params.{param}")) not in (None, "", "None") else "–" for run in row.runs]


def _how_it_ended(run: dict) -> str:
    def number(key: str) -> float:
        try:
            return float(run.get(f"params.{key}"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return math.nan

    if str(run.get(f"params.{names.STOPPED_EARLY}")) == "True":
        return f"stopped early ({_count(number(names.PATIENCE))} epochs without a better valid)"
    done, cap = number(names.EPOCHS_DONE), number(names.EPOCH_CAP)
    if math.isnan(done):
        return "not recorded"
    return "reached the epoch cap" if done >= cap else "stopped by its step or time bound"


def zero_shot_section(board: Board) -> list[str]:
    """N = 0: does a pretrained language model's likelihood alone rank the variants better than chance?"""
    found = zero_shot(board.tables)
    if not found:
        return []
    out = [
        "## Zero-shot (N = 0)",
        "",
        "A language model's log-likelihood of each test sequence as its prediction: no label is read. "
        "Against chance (Spearman 0) by the test bootstrap 95% CI. It is the N = 0 point of each learning "
        "curve, and a candidate for best pretrained at every size, since it trains nothing. A log-likelihood "
        "summed over residues grows with length, so 'within sequence lengths' is the Spearman inside each "
        "length with 20 or more test sequences, weighted by their number (– where no length has 20): a reading "
        "length cannot confound. Verdicts and picks use the plain test Spearman, as for every row.",
        "",
        "| task | model | test Spearman | 95% CI | against chance | within sequence lengths |",
        "|---|---|---|---|---|---|",
    ]
    for task, rows in found.items():
        for r in rows:
            out.append(
                f"| {md(task)} | {md(r.label)} | {_f(r.score)} | {_f(r.ci[0])}–{_f(r.ci[1])} | {chance_word(r)} | "
                f"{_f(r.length_controlled)} |"
            )
    return out + [""]


def not_run_section(board: Board) -> list[str]:
    if not board.not_run:
        return []
    every = set(board.tables)
    out = [
        "## Models that did not run",
        "",
        "Each model family once, with the reason its latest attempt gave; a training stopped midway once "
        "per task, with how far it got. They are not ranked and never count in a verdict.",
        "",
    ]
    for e in board.not_run:
        where = "every task" if set(e.tasks) == every else ", ".join(md(t) for t in e.tasks)
        reason = md(keep_fix(no_paths(e.reason), 400))
        out.append(f"- **{', '.join(md(m) for m in e.models)}** ({md(e.status)}, {where}): {reason}")
    return out + [""]


def curve_section(board: Board, task: str, figures: dict[str, str]) -> list[str]:
    out = [
        "## Learning curves",
        "",
        "Test Spearman against the number of training sequences (nested, seeded subsets of the train split; "
        "model selection on a valid subset of about N/4, and each side's pick ranked by its Spearman on that "
        "subset; test stays whole). Mean over seeds.",
        "",
    ]
    figure = figures.get(f"{task}_learning_curve")
    if figure:
        out += [f"![{md(task)}: learning curves]({_relative(figure, 'tasks/')})", ""]
    for pairs in (board.pairs.get(task, []), board.hybrid_pairs.get(task, [])):
        out += [f"- {curve_statement(task, pairs)}", ""]
        if pairs:
            out += curve_table(pairs) + [""]
    return out + curve_points(board.curves[task]) + [""]


def curve_statement(task: str, pairs: list[Pair]) -> str:
    """Where, if anywhere, a side beats supervised training along the curve."""
    if not pairs:
        return f"**{md(task)}:** no size has both a pretrained and a supervised run yet."
    side = "the hybrid" if pairs[0].side == "hybrid" else "pretraining"
    parts = []
    for w in dict.fromkeys(p.word for p in pairs):
        sizes = ", ".join(f"N={p.n:,}" for p in pairs if p.word == w)
        parts.append(f"{side} {w} at {sizes}" if w in ("helps", "does not help") else f"{w} at {sizes}")
    return f"**{md(task)}** ({pairs[0].side} against supervised): {'; '.join(parts)}."


def curve_table(pairs: list[Pair]) -> list[str]:
    side = pairs[0].side if pairs else "pretrained"
    out = [
        f"| train N | best supervised | best {side} | {side} − supervised (95% CI) | seeds | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for p in pairs:
        if not math.isfinite(p.difference):
            out.append(f"| {p.n:,} | – | – | – | – | {p.word} |")
            continue
        out.append(
            f"| {p.n:,} | {md(p.sup)} {p.sup_score:.3f} | {md(p.pre)} ({md(p.pre_approach)}) {p.pre_score:.3f} | "
            f"{p.difference:+.3f} ({p.low:+.3f} to {p.high:+.3f}) | {p.seeds} | {p.word} |"
        )
    return out


def curve_points(task_curves: dict[str, Curve]) -> list[str]:
    sizes = sorted({p.n for c in task_curves.values() for p in c.points})
    out = ["| configuration | " + " | ".join(f"N={n:,}" for n in sizes) + " |", "|---|" + "---|" * len(sizes)]
    for c in task_curves.values():
        at = {p.n: p.mean for p in c.points}
        out.append(
            f"| {md(c.label)}{f' ({md(c.approach)})' if c.pretrained else ''} | "
            + " | ".join(_f(at[n]) if n in at else "–" for n in sizes)
            + " |"
        )
    return out


def reference_section(reference: list[dict], name: str) -> list[str]:
    if not reference:
        return []
    out = [
        "## Published reference numbers (not run here)",
        "",
        f"From `{md(name)}` in this folder, with their sources, for comparison only; they are not MLflow "
        f"runs of this zoo.",
        "",
        "| task | model | pretrained | test Spearman | source |",
        "|---|---|---|---|---|",
    ]
    for r in sorted(reference, key=lambda r: (r["task"], -float(r["spearman"]))):
        out.append(
            f"| {md(r['task'])} | {md(r['model'])} | {md(r['pretrained'])} | {md(r['spearman'])} | {md(r['source'])} |"
        )
    return out + [""]
