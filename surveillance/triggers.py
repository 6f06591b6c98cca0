"""New reports queue detection for their drug, after commit and debounced: at most one run
per drug per DETECTION_DEBOUNCE_SECONDS. With a broker, beat's dispatcher hands the queued
runs to the workers when they are due; without one, a timer in this process does."""

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from django.conf import settings
from django.db import connections
from django.utils import timezone

from reports.models import Report

from .services import debounce_seconds, run_queue_for_new_reports
from .tasks import detection_run_start, run_dispatch, runs_dispatch_due

logger = logging.getLogger(__name__)

_paused = threading.local()


@contextmanager
def detection_paused() -> Iterator[None]:
    """Reports filed inside the block queue no detection (a bulk load runs it once after)."""
    _paused.on = True
    try:
        yield
    finally:
        _paused.on = False


def on_report_committed(report: Report, **_signal: object) -> None:
    """The receiver of reports.signals.report_committed. At most one queued run per drug: a
    burst of reports shares it, and a drug starts at most one new-reports run per debounce
    window (see run_queue_for_new_reports).

    With a broker the run starts one window after the report, so that it sees the whole
    burst. Queuing writes the run in the database and sends nothing to the broker: a broker
    that is down neither slows nor fails the report, and the run waits for it
    (detection_dispatch hands it out once it is due and the broker answers). Each report
    looks for its drug's queued run with one indexed query.

    Without a broker there is no beat: the first report of a quiet drug runs detection at
    once, in this request, so the nurse sees fresh signals. A report within the window of
    the drug's last new-reports run queues one run due at the window's end, and a timer in
    this process starts it then (dispatch_when_due); a queued run whose timer died with an
    earlier process is started by the drug's next report.

    The report is already saved: nothing here may fail the request that filed it.
    """
    if not getattr(settings, "DETECTION_ON_NEW_REPORTS", True) or getattr(_paused, "on", False):
        return
    if detection_run_start.app.conf.task_always_eager:
        run = run_queue_for_new_reports(report.drug_id, take_overdue=True)
        if run is None:
            return
        if run.not_before is not None and run.not_before > timezone.now():
            dispatch_when_due(run.not_before)
        else:
            run_dispatch(run)
        return
    run_queue_for_new_reports(report.drug_id, delay_seconds=debounce_seconds())


def dispatch_when_due(due: datetime) -> None:
    """Without a broker (and so without beat): hand out the due runs at `due`, from a
    daemon timer thread of this process. Started only when a run was queued for later, so
    at most one timer per drug and window. Tests replace it."""
    delay = max(0.0, (due - timezone.now()).total_seconds())
    timer = threading.Timer(delay, _dispatch_due_here)
    timer.daemon = True
    timer.name = "detection-debounce"
    timer.start()


def _dispatch_due_here() -> None:
    try:
        runs_dispatch_due()
    except Exception:
        logger.exception("the debounced detection runs could not be started")
    finally:
        # The timer's thread opened its own connections.
        connections.close_all()
