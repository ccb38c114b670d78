"""Rich progress bars with an ETA: one for the jobs, one for the steps of the current job; and one
line per finished job. Bars need a terminal: where there is none (a log file, CI, nohup), the steps
are reported as plain lines instead, one at each new epoch (or other note), every tenth of the job,
and at least once a minute (a tenth of a 20-epoch training can be hours apart).

A pass's rate and ETA are its average since it started (or resumed) in this process: rich's own
estimate looks at the last 30 s only, so an epoch's validation pause swung the ETA tenfold."""

from __future__ import annotations

import math
from time import monotonic
from typing import Callable

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from zoo.messages import keep_fix

LINE_EVERY = 60.0  # seconds: the longest a log goes without a line while a job runs


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class RateColumn(ProgressColumn):
    """Items per second (training steps, or sequences while embedding): the pass's average."""

    def render(self, task) -> Text:
        rate = task.fields.get("rate", task.speed)
        return Text(f"{rate:.1f}/s" if rate else "", style="progress.data.speed")


class EtaColumn(ProgressColumn):
    """Time left at the pass's average rate (rich's own estimate for the jobs bar)."""

    def render(self, task) -> Text:
        eta = task.fields.get("eta", task.time_remaining)
        return Text(f"eta {_clock(eta)}" if eta is not None else "eta -:--:--", style="progress.remaining")


class Reporter:
    def __init__(self, console: Console | None = None, clock: Callable[[], float] = monotonic):
        self._clock = clock
        self._progress = Progress(
            TextColumn("{task.description:<36}"),
            BarColumn(),
            MofNCompleteColumn(),
            RateColumn(),
            TimeElapsedColumn(),
            EtaColumn(),
            console=console or Console(stderr=True),
            get_time=clock,
        )
        self._jobs = self._progress.add_task("jobs", total=None)
        self._steps = self._progress.add_task("", total=None, visible=False)
        self._job = ""
        self._last: tuple[str | None, int, int] = (None, 0, -1)  # the note, total and tenth last written
        self._written = -math.inf  # when that line was written
        self._origin: tuple[int, int, float] | None = None  # the pass's total, first step and time

    def __enter__(self) -> "Reporter":
        self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self._progress.stop()

    def start_job(self, name: str, index: int, total: int) -> None:
        self._progress.update(self._jobs, completed=index, total=total, description=f"jobs (now {name})")
        self._job = name
        self._progress.reset(self._steps, total=None, description=f"  {name} steps", visible=True)
        self._last = (None, 0, -1)
        self._written = -math.inf
        self._origin = None

    def job_finished(self, done: int, total: int, outcome) -> None:
        """One line per finished job: job, outcome, test Spearman, seconds; where a failure's traceback is."""
        self._progress.update(self._jobs, completed=done, total=total, description=f"jobs (done {outcome.job.name})")
        m = outcome.metrics
        score = f"test Spearman {m['test_spearman']:.3f}, {m['fit_seconds']:.1f} s fit" if m else ""
        line = f"[{done}/{total}] {outcome.job.name}: {outcome.status} {score}"
        if outcome.status == "failed":
            line += f" - {keep_fix(outcome.message, 400)} (traceback: tag 'traceback' of MLflow run {outcome.run_id})"
        elif outcome.status != "ok":
            line += f" - {keep_fix(outcome.message, 400)}"
        self._progress.console.print(escape(line), highlight=False, soft_wrap=True)

    def step(self, done: int, total: int, note: str | None = None) -> None:
        """Plugins call this (as ``progress(done, total)``, optionally with a note such as
        ``"epoch 2/5"``) while they train; the bar shows steps, rate and ETA."""
        rate, eta = self._average(done, total)
        self._progress.update(self._steps, completed=done, total=total, rate=rate, eta=eta)
        if note is not None:
            self._progress.update(self._steps, description=f"  {self._job} {note}")
        if not self._progress.console.is_terminal and total:
            self._line(done, total, note, rate, eta)

    def _line(self, done: int, total: int, note: str | None, speed: float | None, eta: float | None) -> None:
        tenth, now = 10 * done // total, self._clock()
        if (note, total) == self._last[:2] and tenth <= self._last[2] and now - self._written < LINE_EVERY:
            return  # a new note or a new total (a job's next pass, e.g. test after train) starts over
        self._last, self._written = (note, total, tenth), now
        rate = f", {speed:.1f}/s" if speed else ""
        when = f", eta {_clock(eta)}" if eta is not None else ""
        what = f"{self._job} {note}" if note else self._job
        line = escape(f"  {what}: step {done}/{total}{rate}{when}")
        self._progress.console.print(line, highlight=False, soft_wrap=True)

    def _average(self, done: int, total: int) -> tuple[float | None, float | None]:
        """Steps per second since the pass's first report here, and the time left at that rate."""
        now = self._clock()
        if self._origin is None or self._origin[0] != total or done < self._origin[1]:
            self._origin = (total, done, now)  # a new pass, or a resumed one: count from here
        _, first, since = self._origin
        if done <= first or now <= since:
            return None, None
        rate = (done - first) / (now - since)
        return rate, (total - done) / rate if total else None

    def finish(self, total: int) -> None:
        self._progress.update(self._jobs, completed=total, total=total, description="jobs")
        self._progress.update(self._steps, visible=False)
