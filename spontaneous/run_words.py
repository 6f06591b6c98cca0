"""What the spontaneous sources page says about an import and about a FAERS import started
from it: states, times, progress and outcomes in words a safety officer reads."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .import_runs import RunProgress, run_progress
from .import_words import day_time
from .models import ImportRun, ImportRunStatus

STATE_WORDS = {
    ImportRunStatus.QUEUED: "Queued",
    ImportRunStatus.RUNNING: "Running",
    ImportRunStatus.SUCCEEDED: "Finished",
    ImportRunStatus.FAILED: "Failed",
}
MB = 1_000_000


def _duration(seconds: float) -> str:
    whole = max(round(seconds), 0)
    if whole < 60:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def timing_words(run: ImportRun, now: datetime) -> str:
    if run.started_at is None:
        waiting = ", waiting for a worker" if run.status == ImportRunStatus.QUEUED else ""
        return f"requested {day_time(run.created_at)}{waiting}"
    started = f"started {day_time(run.started_at)}"
    if run.finished_at is None:
        return f"{started}, running for {_duration((now - run.started_at).total_seconds())}"
    return f"{started}, took {_duration((run.finished_at - run.started_at).total_seconds())}"


def step_words(step: str, done: int, total: int | None) -> str:
    """reading DRUG: 12.5 of 40.1 MB; writing pairs: 120,000 of 350,000."""
    if step.startswith("reading"):
        amount = f"{done / MB:.1f} of {total / MB:.1f} MB" if total else f"{done / MB:.1f} MB"
    elif total:
        amount = f"{done:,} of {total:,}"
    elif step == "starting":
        return "starting"
    else:
        amount = f"{done:,}"
    return f"{step}: {amount}"


def progress_words(run: ImportRun, progress: RunProgress | None) -> str:
    files = len(run.files)
    if run.status == ImportRunStatus.QUEUED:
        return "not started"
    if run.status == ImportRunStatus.RUNNING:
        if progress is None:
            return f"{run.files_done} of {files} files imported"
        if not progress.file_number:  # after the files: the source's baseline
            return progress.step
        where = f"{progress.file} (file {progress.file_number} of {files})" if files > 1 else ""
        step = step_words(progress.step, progress.done, progress.total)
        return f"{where}: {step}" if where else step
    noun = "file" if files == 1 else "files"
    return f"{run.files_done} of {files} {noun} imported"


def result_words(run: ImportRun) -> list[str]:
    """A sentence per file the run imported, or found imported before, as recorded when
    each ended: the page reads no import while another may hold its table."""
    return [str(result.get("said", "")) for result in run.results]


@dataclass(frozen=True)
class RunRow:
    """A FAERS import run as one row of the page and as the progress endpoint's answer."""

    run: ImportRun
    state: str
    timing: str
    progress: str
    file: str
    step: str
    done: int
    total: int | None
    active: bool
    results: list[str]

    def as_json(self) -> dict[str, Any]:
        run = self.run
        return {
            "id": run.pk,
            "status": run.status,
            "state": self.state,
            "active": self.active,
            "timing": self.timing,
            "progress": self.progress,
            "files_total": len(run.files),
            "files_done": run.files_done,
            "file": self.file,
            "step": self.step,
            "done": self.done,
            "total": self.total,
            "results": self.results,
            "error": run.error,
        }


def run_row(run: ImportRun, now: datetime) -> RunRow:
    progress = run_progress(run)
    return RunRow(
        run=run,
        state=STATE_WORDS.get(ImportRunStatus(run.status), run.get_status_display()),
        timing=timing_words(run, now),
        progress=progress_words(run, progress),
        file=progress.file if progress else "",
        step=progress.step if progress else "",
        done=progress.done if progress else 0,
        total=progress.total if progress else None,
        active=run.status in (ImportRunStatus.QUEUED, ImportRunStatus.RUNNING),
        results=result_words(run),
    )
