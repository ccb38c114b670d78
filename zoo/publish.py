"""Publishing the leaderboard: figures and the page written beside each other, and (from a store)
the page and figures logged to MLflow as a run of kind ``leaderboard``.

:mod:`zoo.analysis` computes, :mod:`zoo.page` renders; this module is the only one that writes.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

from zoo import ZooError, figures, names, page
from zoo.analysis import Board
from zoo.files import write_atomic

REFERENCE = "published.csv"  # the project's published numbers, beside the page


def read_reference(path: str | Path | None) -> list[dict]:
    """Published numbers (task, model, pretrained, spearman, source), each checked."""
    if not path or not Path(path).exists():
        return []
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    for number, row in enumerate(rows, start=2):
        missing = [k for k in ("task", "model", "pretrained", "spearman", "source") if not row.get(k)]
        try:
            float(row.get("spearman") or "x")
        except ValueError:
            missing.append("spearman (a number)")
        if missing:
            raise ZooError(
                f"{path}, line {number}: missing {', '.join(missing)}. Fix: every published number needs "
                f"task, model, pretrained, spearman and its source."
            )
    return rows


def reference_for(output: Path, explicit: str | None) -> Path | None:
    """``--reference``, else ``published.csv`` beside the page."""
    if explicit:
        return Path(explicit)
    beside = output.parent / REFERENCE
    return beside if beside.exists() else None


def draw_figures(board: Board, reference: list[dict], folder: Path) -> dict[str, str]:
    """The summary figure beside the front page; per task, a bar chart and a learning-curve figure in
    ``tasks/``. Returns their paths relative to the front page's folder."""
    drawn = {}
    if board.verdicts:
        figures.summary(board.verdicts, board.hybrid, folder / "summary.png")
        drawn["summary"] = "summary.png"
    (folder / "tasks").mkdir(parents=True, exist_ok=True)
    for task, table in board.tables.items():
        figures.task_bars(task, table, reference, folder / "tasks" / f"{task}.png")
        drawn[task] = f"tasks/{task}.png"
    for task, task_curves in board.curves.items():
        figures.learning_curve(task, task_curves, folder / "tasks" / f"{task}_learning_curve.png")
        drawn[f"{task}_learning_curve"] = f"tasks/{task}_learning_curve.png"
    return drawn


def publish(
    board: Board, output: str | Path, reference_path: Path | None, *, tracker=None, generated: str | None = None
) -> list[Path]:
    """Write the front page at ``output``, the task pages and details beside it, and the figures (unless
    ``output`` is ``-``); returns what was written, the front page first. With a ``tracker``, everything
    is also logged to MLflow."""
    reference = read_reference(reference_path)
    name = _shown_name(reference_path, Path(output).parent if output != "-" else Path.cwd())
    if output == "-":
        import sys

        sys.stdout.write(page.render(board, reference, reference_name=name, generated=generated))
        return []
    output = Path(output)
    if output.is_dir():
        raise ZooError(f"--output {output} is a folder. Fix: give the page's file name, e.g. {output / 'README.md'}.")
    output.parent.mkdir(parents=True, exist_ok=True)
    drawn = draw_figures(board, reference, output.parent)
    made = page.pages(board, reference, reference_name=name, figures=drawn, generated=generated)
    written = []
    for relative, text in made.items():
        target = output if relative == "README.md" else output.parent / relative
        write_atomic(target, text)
        written.append(target)
    for stale in (output.parent / "tasks").glob("*.md"):  # a task no longer on the board
        if stale not in written:
            stale.unlink()
    written += [output.parent / f for f in drawn.values()]
    if tracker is not None:
        run_id = tracker.start_run(
            f"zoo leaderboard {time.strftime('%Y-%m-%d %H:%M:%S')}",
            {names.KIND: names.LEADERBOARD, "runs_read": str(board.runs_read)},
        )
        for path in written:
            tracker.log_file(run_id, path)
        tracker.end_run(run_id)
    return written


def _shown_name(path: Path | None, folder: Path) -> str:
    """The reference file as the page names it: relative to the page's folder, never an absolute path."""
    if path is None:
        return REFERENCE
    try:
        return str(Path(path).resolve().relative_to(folder.resolve()))
    except ValueError:
        return Path(path).name
