"""FAERS imports started from the spontaneous sources page: the uploaded quarters wait in a
folder of their own (SPONTANEOUS_UPLOAD_DIR, shared by web and workers), a worker imports
them through the same service as ``import_faers``, and the files are deleted when the run
ends: the reports are in the database by then.

Each quarter is imported in one transaction, which the page's connection cannot see into,
so the import's progress goes to the cache (Redis when REDIS_URL is set), keyed by the run;
the run's row records where it stands between quarters and how it ended.
"""

import logging
import shutil
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError
from django.utils import timezone
from django.utils.text import get_valid_filename

from accounts.models import User

from .baseline import source_baselines_compute
from .faers import FaersError, Quarter, quarter_open
from .faers_load import faers_import, faers_source
from .import_words import quarter_words
from .models import ImportRun, ImportRunStatus

logger = logging.getLogger(__name__)

PROGRESS_KEY = "spontaneous:import-run:{}:progress"
PROGRESS_TTL = 24 * 3600
# The import reports every few thousand rows; the cache is written at most this often.
PROGRESS_EVERY_SECONDS = 0.5
# A run still "running" this long after its time limit has lost its worker.
STALE_MARGIN_SECONDS = 120
BASELINE_STEP = "computing the disproportionality baseline"


class Upload(Protocol):
    """An uploaded file, as Django hands it over."""

    name: str | None

    def chunks(self, chunk_size: int | None = None) -> Iterable[bytes]: ...


class ImportRefused(Exception):
    """An uploaded file is not a FAERS quarter the importer reads; nothing was kept."""

    def __init__(self, file_name: str, reason: str) -> None:
        super().__init__(f"{file_name}: {reason}")
        self.file_name = file_name
        self.reason = reason


@dataclass(frozen=True)
class RunProgress:
    """Where a run has got to: the file (1-based) and the step within it."""

    file: str
    file_number: int
    step: str
    done: int
    total: int | None


def upload_root() -> Path:
    return Path(settings.SPONTANEOUS_UPLOAD_DIR)


def _stored_names(names: list[str]) -> list[str]:
    """Safe, distinct file names for the uploads, as close to the uploaded names as can be."""
    stored: list[str] = []
    for position, name in enumerate(names, start=1):
        safe = get_valid_filename(Path(name).name) or f"upload-{position}.zip"
        if safe in stored:
            safe = f"{position}-{safe}"
        stored.append(safe)
    return stored


def import_run_request(
    *, files: list[Upload], roles: Iterable[str], requested_by: User | None
) -> ImportRun:
    """Keep the uploaded quarters for a worker and record the run, queued. Each file is
    opened as the importer will open it: a file it cannot read (not a zip, not a FAERS
    quarter, a layout it does not know) raises ImportRefused with the importer's words,
    and nothing is kept."""
    folder = Path("faers") / uuid.uuid4().hex
    where = upload_root() / folder
    where.mkdir(parents=True, exist_ok=False)
    names = [f.name or "" for f in files]
    try:
        for upload, stored in zip(files, _stored_names(names), strict=True):
            path = where / stored
            with path.open("wb") as out:
                for chunk in upload.chunks():
                    out.write(chunk)
            try:
                quarter_open(path)
            except FaersError as exc:
                name = Path(upload.name or stored).name
                raise ImportRefused(name, _said(str(exc), path, name)) from exc
        return ImportRun.objects.create(
            files=[Path(n).name for n in names],
            folder=str(folder),
            roles=",".join(roles),
            requested_by=requested_by,
        )
    except BaseException:
        shutil.rmtree(where, ignore_errors=True)
        raise


def import_run_claim(run_id: int) -> bool:
    """Whether this worker takes the run: it was queued and nobody else took it."""
    taken = (
        ImportRun.objects.filter(pk=run_id, status=ImportRunStatus.QUEUED).update(
            status=ImportRunStatus.RUNNING, started_at=timezone.now()
        )
        == 1
    )
    if taken:
        _progress_forget(run_id)  # a cache that outlived the database may know the id
    return taken


class _ProgressToCache:
    """The import's progress callback: the current file and step, written to the cache at
    most every PROGRESS_EVERY_SECONDS (and at each new step). A cache that fails costs the
    page its progress bar, never the import."""

    def __init__(self, run_id: int, file: str, file_number: int) -> None:
        self.key = PROGRESS_KEY.format(run_id)
        self.file = file
        self.file_number = file_number
        self.step = ""
        self.written_at = 0.0
        self.failing = False

    def __call__(self, step: str, done: int, total: int | None) -> None:
        now = time.monotonic()
        if step == self.step and now - self.written_at < PROGRESS_EVERY_SECONDS:
            return
        self.step, self.written_at = step, now
        self.write(step, done, total)

    def write(self, step: str, done: int, total: int | None) -> None:
        value = {
            "file": self.file,
            "file_number": self.file_number,
            "step": step,
            "done": done,
            "total": total,
        }
        try:
            cache.set(self.key, value, PROGRESS_TTL)
        except Exception:
            if not self.failing:
                logger.warning("import run progress not written to the cache", exc_info=True)
            self.failing = True


def run_progress(run: ImportRun) -> RunProgress | None:
    """The progress of a running run as its worker last wrote it, or None when unknown."""
    if run.status != ImportRunStatus.RUNNING:
        return None
    try:
        value: Any = cache.get(PROGRESS_KEY.format(run.pk))
    except Exception:
        logger.warning("import run progress not read from the cache", exc_info=True)
        return None
    if not isinstance(value, dict):
        return None
    return RunProgress(
        file=str(value.get("file", "")),
        file_number=int(value.get("file_number", 0)),
        step=str(value.get("step", "")),
        done=int(value.get("done") or 0),
        total=None if value.get("total") is None else int(value["total"]),
    )


def _files_delete(run: ImportRun) -> None:
    if run.folder:
        shutil.rmtree(upload_root() / run.folder, ignore_errors=True)
    ImportRun.objects.filter(pk=run.pk).update(files_deleted_at=timezone.now())


def _end(run: ImportRun, status: str, error: str = "") -> None:
    ImportRun.objects.filter(pk=run.pk).update(
        status=status, error=error, finished_at=timezone.now()
    )
    _files_delete(run)
    _progress_forget(run.pk)


def _progress_forget(run_id: int) -> None:
    try:
        cache.delete(PROGRESS_KEY.format(run_id))
    except Exception:
        logger.warning("import run progress not removed from the cache", exc_info=True)


def _said(text: str, path: Path, name: str) -> str:
    """The importer's words about a stored file, naming it as the officer uploaded it (no
    server path), without saying its name twice."""
    text = text.replace(str(path), name)
    return text.removeprefix(f"{name}: ")


def _failure_words(exc: BaseException) -> str:
    if isinstance(exc, FaersError):
        return str(exc)
    if isinstance(exc, SoftTimeLimitExceeded):
        return (
            f"the import took longer than the {settings.FAERS_IMPORT_TIME_LIMIT} s allowed "
            "(FAERS_IMPORT_TIME_LIMIT)"
        )
    if isinstance(exc, DatabaseError):
        return f"the database refused it ({exc})"
    return f"an unexpected error ({type(exc).__name__}: {exc}); see the worker's log"


def import_run_execute(run_id: int) -> ImportRun:
    """Import a claimed run's quarters, oldest first, each all or nothing, then delete its
    files. A quarter that fails ends the run: the quarters before it stay imported, nothing of
    it or of those after it is kept, and the run says which and why. Never raises."""
    run = ImportRun.objects.select_related("requested_by").get(pk=run_id)
    where = upload_root() / run.folder
    try:
        stored = sorted(p for p in where.iterdir() if p.is_file()) if where.is_dir() else []
        if not stored:
            raise FaersError("the uploaded files are gone (the upload folder was emptied)")
        quarters: list[tuple[Quarter, str]] = []
        for path, name in zip(stored, _upload_names(run, stored), strict=True):
            try:
                quarters.append((quarter_open(path), name))
            except FaersError as exc:
                raise FaersError(
                    f"{name}: nothing imported: {_said(str(exc), path, name)}"
                ) from exc
    except Exception as exc:
        _end(run, ImportRunStatus.FAILED, _failure_words(exc))
        return ImportRun.objects.get(pk=run_id)

    # Oldest first, as the command does: later versions then supersede earlier ones.
    quarters.sort(key=lambda q: (q[0].label, q[1]))
    roles = [r for r in run.roles.split(",") if r]
    results: list[dict[str, Any]] = []
    for number, (quarter, name) in enumerate(quarters, start=1):
        progress = _ProgressToCache(run.pk, name, number)
        progress.write("starting", 0, None)
        try:
            result = faers_import(
                quarter=quarter, roles=roles, imported_by=run.requested_by, progress=progress
            )
        except Exception as exc:
            if not isinstance(exc, FaersError | SoftTimeLimitExceeded | DatabaseError):
                logger.exception("FAERS import run %s failed on %s", run.pk, name)
            error = f"{name} ({quarter.label}): nothing imported from this file: " + _said(
                _failure_words(exc), quarter.path, name
            )
            if any(not r["unchanged"] for r in results):
                error += _baselines_compute(run.pk, name)
            _end(run, ImportRunStatus.FAILED, error)
            return ImportRun.objects.get(pk=run_id)
        results.append(
            {
                "file": name,
                "quarter": quarter.label,
                "import": result.batch.pk,
                "unchanged": result.unchanged,
                "said": quarter_words(name, quarter.label, result.batch, result.unchanged),
            }
        )
        run.imports.add(result.batch)
        ImportRun.objects.filter(pk=run.pk).update(files_done=number, results=results)
    note = _baselines_compute(run.pk, quarters[-1][1]) if quarters else ""
    _end(run, ImportRunStatus.SUCCEEDED, note.removeprefix("; "))
    return ImportRun.objects.get(pk=run_id)


def _baselines_compute(run_id: int, file: str) -> str:
    """The source's disproportionality baselines computed for its new last import, as the
    command does, so that drug tables read them rather than fit the prior in a request.
    Returns what to add to the run's words when they could not be computed."""
    progress = _ProgressToCache(run_id, file, 0)
    progress.write(BASELINE_STEP, 0, None)
    try:
        source_baselines_compute(faers_source())
    except Exception as exc:
        logger.exception("FAERS import run %s: disproportionality baseline failed", run_id)
        return (
            f"; the disproportionality baseline could not be computed ({_failure_words(exc)}): "
            "drug tables compute it when first read"
        )
    return ""


def _upload_names(run: ImportRun, stored: list[Path]) -> list[str]:
    """The name each stored file was uploaded under (the stored name when not known)."""
    by_stored = dict(zip(_stored_names(run.files), run.files, strict=False))
    return [by_stored.get(p.name, p.name) for p in stored]


def import_run_fail(run_id: int, error: str) -> None:
    """End a run that will not be imported (its task could not be handed to a worker)."""
    run = ImportRun.objects.get(pk=run_id)
    if run.status in (ImportRunStatus.QUEUED, ImportRunStatus.RUNNING):
        _end(run, ImportRunStatus.FAILED, error)


def import_runs_sweep_stale() -> int:
    """Fail the runs still running well past their time limit: their worker stopped (killed,
    out of memory, or stopped at the hard time limit). Each quarter is all or nothing, so
    the one under way left nothing behind."""
    limit = timedelta(seconds=settings.FAERS_IMPORT_TIME_LIMIT + STALE_MARGIN_SECONDS)
    stale = ImportRun.objects.filter(
        status=ImportRunStatus.RUNNING, started_at__lt=timezone.now() - limit
    )
    count = 0
    for run in stale:
        _end(
            run,
            ImportRunStatus.FAILED,
            "the import stopped without finishing (its worker stopped or ran out of time); "
            "the quarter under way was not kept",
        )
        count += 1
    return count
