"""What the detection runs page says about a run: its state, its times and its progress, in
words a safety officer reads (no status codes)."""

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from .choices import RunStatus
from .models import DetectionRun

STATE_WORDS = {
    RunStatus.QUEUED: "Queued",
    RunStatus.RUNNING: "Running",
    RunStatus.SUCCEEDED: "Finished",
    RunStatus.FAILED: "Failed",
}


def duration_words(seconds: float) -> str:
    """1.8 s, 12 s, 3 min 5 s, 1 h 20 min."""
    seconds = max(seconds, 0.0)
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        minutes, rest = divmod(whole, 60)
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, rest = divmod(whole, 3600)
    minutes = rest // 60
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def _day_time(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _time(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%H:%M")


def scope_words(run: DetectionRun) -> str:
    return run.drug.name if run.drug else "all drugs"


def progress_words(run: DetectionRun) -> str:
    if run.status == RunStatus.QUEUED or not run.drugs_total:
        return "not started"
    noun = "drug" if run.drugs_total == 1 else "drugs"
    return f"{run.drugs_done} of {run.drugs_total} {noun} done"


def timing_words(run: DetectionRun, now: datetime) -> str:
    """When the run started and how long it took, or how long it has been running."""
    if run.status == RunStatus.QUEUED:
        if run.not_before is not None and run.not_before > now:
            return f"requested {_day_time(run.created_at)}, starts at {_time(run.not_before)}"
        return f"requested {_day_time(run.created_at)}, waiting to start"
    if run.started_at is None:
        return f"requested {_day_time(run.created_at)}, never started"
    started = f"started {_day_time(run.started_at)}"
    if run.status == RunStatus.RUNNING:
        return f"{started}, running for {duration_words((now - run.started_at).total_seconds())}"
    if run.finished_at is None:
        return started
    return f"{started}, took {duration_words((run.finished_at - run.started_at).total_seconds())}"


def already_words(run: DetectionRun, now: datetime) -> str:
    """Said to an officer who asks for a run while this one, over the same drugs, is on."""
    scope = scope_words(run)
    if run.status == RunStatus.RUNNING and run.started_at is not None:
        return (
            f"A run for {scope} is already running (started {_time(run.started_at)}, "
            f"{progress_words(run)}): it is highlighted below."
        )
    if run.not_before is not None and run.not_before > now:
        when = f"requested {_time(run.created_at)}, starts at {_time(run.not_before)}"
    else:
        when = f"requested {_time(run.created_at)}"
    return f"A run for {scope} is already queued ({when}): it is highlighted below."


@dataclass(frozen=True)
class RunRow:
    """A run as one row of the runs page."""

    run: DetectionRun
    state: str
    timing: str
    progress: str
    active: bool


def run_row(run: DetectionRun, now: datetime) -> RunRow:
    return RunRow(
        run=run,
        state=STATE_WORDS.get(RunStatus(run.status), run.get_status_display()),
        timing=timing_words(run, now),
        progress=progress_words(run),
        active=run.status in (RunStatus.QUEUED, RunStatus.RUNNING),
    )
