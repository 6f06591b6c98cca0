"""Detection runs: create, hand to the workers when due, execute (in-process or by workers,
one task per drug), finish, and recover from workers that died."""

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, OperationalError, connections, transaction
from django.db.models import Max, OuterRef, Q, Subquery
from django.utils import timezone

from accounts.models import User
from core.db import statement_timeout
from reference.models import Drug
from reports.choices import DrugRole
from reports.models import Report, ReportDrug
from spontaneous.baseline import baselines_current

from .choices import RunStatus, Trigger
from .locks import DrugBusy, Lease, drug_lock
from .models import DetectionRun, DrugRun
from .notify import signals_notify_pending
from .rules import evaluate_drug
from .signal_updates import findings_apply, run_q_values_apply

logger = logging.getLogger(__name__)


# A run or part handed to the workers this long ago and still queued lost its message (a
# broker that restarted empty): it is handed out again. A second delivery does nothing, as
# runs and parts are claimed before they are worked on.
RESEND_AFTER = timedelta(minutes=5)
# A part whose drug another run holds tries again after 5, 10, 20 s..., at most a lease
# apart, this many times before it gives up.
BUSY_ATTEMPTS = 10


def debounce_seconds() -> int:
    """How long a run queued by new reports waits before it starts."""
    return int(getattr(settings, "DETECTION_DEBOUNCE_SECONDS", 60))


def lease_seconds() -> int:
    """How long a worker holds a drug without renewing it; a dead worker's part is failed
    and its drug freed this long after its last heartbeat."""
    return int(getattr(settings, "DETECTION_LEASE_SECONDS", 30))


def stale_after() -> timedelta:
    """A run that made no progress for twice the task time limit lost its workers."""
    return timedelta(seconds=2 * int(settings.CELERY_TASK_TIME_LIMIT))


def run_create(
    *, trigger: str, drug: Drug | None = None, requested_by: User | None = None
) -> DetectionRun:
    return DetectionRun.objects.create(trigger=trigger, drug=drug, requested_by=requested_by)


ACTIVE = [RunStatus.QUEUED, RunStatus.RUNNING]


def runs_active(drug: Drug | None) -> list[DetectionRun]:
    """The queued and running runs over one drug, or over every drug (None), the running
    ones first."""
    scope = Q(drug=drug) if drug is not None else Q(drug__isnull=True)
    runs = DetectionRun.objects.filter(scope, status__in=ACTIVE).select_related("drug")
    return sorted(runs.order_by("created_at", "pk"), key=lambda r: r.status != RunStatus.RUNNING)


def run_request(*, drug: Drug | None, requested_by: User) -> tuple[DetectionRun, bool]:
    """An officer's run over one drug or every drug (None), to be dispatched at once.

    A run over the same scope already queued or running is returned instead, with False:
    an officer who asks twice, or two officers asking together, start one run. The unique
    constraints on active manual runs settle the races the look-up leaves open.
    """
    active = runs_active(drug)
    if active:
        return active[0], False
    try:
        with transaction.atomic():
            run = DetectionRun.objects.create(
                trigger=Trigger.MANUAL, drug=drug, requested_by=requested_by
            )
    except IntegrityError:
        # Another request created it between the look-up and the insert.
        active = runs_active(drug)
        if not active:
            raise
        return active[0], False
    return run, True


def _last_new_reports_start(drug_id: int) -> datetime | None:
    last: datetime | None = DetectionRun.objects.filter(
        drug_id=drug_id, trigger=Trigger.NEW_REPORTS, started_at__isnull=False
    ).aggregate(last=Max("started_at"))["last"]
    return last


def run_queue_for_new_reports(
    drug_id: int, *, delay_seconds: int = 0, take_overdue: bool = False
) -> DetectionRun | None:
    """Queue one run for a drug that received reports, unless one is queued already.

    The run starts after the delay, and never sooner than one debounce window after the
    drug's last new-reports run started: however its reports arrive, a drug gets at most
    one such run per window. Its not_before is empty when it may start at once. Nothing is
    sent to the broker: the dispatcher hands the run to the workers once it is due
    (runs_claim_due).

    Returns the new run; None when one was queued already. With take_overdue, a queued run
    that is due and was not handed out (without beat, the timer meant to start it died
    with its process) is returned too, for the caller to start.
    """
    queued = list(
        DetectionRun.objects.filter(
            drug_id=drug_id, status=RunStatus.QUEUED, trigger=Trigger.NEW_REPORTS
        ).values_list("pk", "not_before", "sent_at")[:1]
    )
    now = timezone.now()
    if queued:
        # Most reports of a burst end here; the insert below settles the races.
        pk, not_before, sent_at = queued[0]
        overdue = (not_before is None or not_before <= now) and (
            sent_at is None or sent_at < now - RESEND_AFTER
        )
        return DetectionRun.objects.get(pk=pk) if take_overdue and overdue else None
    start = now + timedelta(seconds=delay_seconds)
    last_start = _last_new_reports_start(drug_id)
    if last_start is not None:
        start = max(start, last_start + timedelta(seconds=debounce_seconds()))
    try:
        with transaction.atomic():
            return DetectionRun.objects.create(
                trigger=Trigger.NEW_REPORTS,
                drug_id=drug_id,
                created_at=now,
                not_before=start if start > now else None,
            )
    except IntegrityError:
        return None


def _due(now: datetime) -> Q:
    return (Q(not_before__isnull=True) | Q(not_before__lte=now)) & (
        Q(sent_at__isnull=True) | Q(sent_at__lt=now - RESEND_AFTER)
    )


def runs_claim_due() -> tuple[list[int], list[int]]:
    """The queued runs, and the queued parts of running runs, whose time has come and that
    were not handed to the workers recently. Each is marked sent by a conditional update,
    so two dispatchers never hand out the same one."""
    now = timezone.now()
    due = _due(now)
    runs = DetectionRun.objects.filter(due, status=RunStatus.QUEUED)
    parts = DrugRun.objects.filter(due, status=RunStatus.QUEUED, run__status=RunStatus.RUNNING)
    run_ids = [
        pk
        for pk in runs.values_list("pk", flat=True)
        if DetectionRun.objects.filter(due, pk=pk).update(sent_at=now)
    ]
    part_ids = [
        pk
        for pk in parts.values_list("pk", flat=True)
        if DrugRun.objects.filter(due, pk=pk).update(sent_at=now)
    ]
    return run_ids, part_ids


def sent_undo(model: type[DetectionRun] | type[DrugRun], pk: int) -> None:
    """The message could not be sent: the next dispatch tries again."""
    model.objects.filter(pk=pk, status=RunStatus.QUEUED).update(sent_at=None)


def run_fail(run_id: int, error: str) -> None:
    """Fail a run that has not finished, and its unfinished parts."""
    now = timezone.now()
    DrugRun.objects.filter(run_id=run_id, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).update(
        status=RunStatus.FAILED, error=error, finished_at=now
    )
    DetectionRun.objects.filter(pk=run_id, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).update(
        status=RunStatus.FAILED, error=error, finished_at=now
    )


def run_start(run: DetectionRun) -> list[DrugRun]:
    """Mark the run running and create its parts, one per drug. Idempotent."""
    drugs = [run.drug] if run.drug else list(Drug.objects.order_by("pk"))
    now = timezone.now()
    with transaction.atomic():
        claimed = DetectionRun.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(
            status=RunStatus.RUNNING, started_at=now, heartbeat_at=now, drugs_total=len(drugs)
        )
        if claimed:
            # Sent by the task that starts the run, right after this.
            DrugRun.objects.bulk_create(
                [DrugRun(run=run, drug=d, sent_at=now) for d in drugs if d is not None],
                ignore_conflicts=True,
            )
    run.refresh_from_db()
    if claimed:
        # Counted and fitted once per import of each source, here, rather than by each
        # drug's worker.
        with statement_timeout(settings.DETECTION_STATEMENT_TIMEOUT):
            baselines_current()
    return list(run.parts.filter(status=RunStatus.QUEUED))


def drug_part_execute(part_id: int) -> str:
    """Detection for one drug of a run; the part is claimed first, so a retry or a second
    worker never does it twice. Returns the part's final status."""
    now = timezone.now()
    # Only while its run is running: a task delivered again after its run was closed (a
    # worker killed before it acknowledged the task) does nothing.
    claimed = DrugRun.objects.filter(
        pk=part_id,
        status__in=[RunStatus.QUEUED, RunStatus.FAILED],
        run__status=RunStatus.RUNNING,
    ).update(status=RunStatus.RUNNING, started_at=now, heartbeat_at=now, error="")
    part = DrugRun.objects.select_related("run", "drug").get(pk=part_id)
    if not claimed:
        return part.status
    DetectionRun.objects.filter(pk=part.run_id).update(heartbeat_at=now)
    try:
        # Without a broker nothing retries later: wait for the run holding the drug.
        wait = settings.DETECTION_LOCK_WAIT_SECONDS if settings.CELERY_TASK_ALWAYS_EAGER else 0
        with (
            drug_lock(part.drug_id, ttl_seconds=lease_seconds(), wait_seconds=wait) as lease,
            _kept_alive(part, lease),
            statement_timeout(settings.DETECTION_STATEMENT_TIMEOUT),
        ):
            result = evaluate_drug(part.drug)
            counts = findings_apply(drug=part.drug, findings=result.findings, run=part.run)
            counts["officers_notified_of"] = signals_notify_pending(part.drug_id)
    except (DrugBusy, OperationalError):
        # Passing trouble: the part waits for the task's retry (or the sweep, if none comes).
        DrugRun.objects.filter(pk=part_id).update(status=RunStatus.QUEUED)
        raise
    except Exception as exc:
        logger.exception("detection failed for drug %s in run %s", part.drug_id, part.run_id)
        _part_finish(part, RunStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
        raise
    counts.update(result.counts)
    counts["findings"] = len(result.findings)
    counts["met"] = sum(f.met for f in result.findings)
    _part_finish(part, RunStatus.SUCCEEDED, counts=counts, notes=result.notes)
    return RunStatus.SUCCEEDED


@contextmanager
def _kept_alive(part: DrugRun, lease: Lease) -> Iterator[None]:
    """While the part runs, a thread renews its drug's lease and its heartbeat every third of
    the lease. A worker that dies stops both: the sweep fails its part and the next run takes
    the drug one lease later, not after the task time limit."""
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(lease.ttl_seconds / 3):
                try:
                    if not lease.renew():
                        logger.warning("detection part %s lost its drug's lease", part.pk)
                    now = timezone.now()
                    DrugRun.objects.filter(pk=part.pk, status=RunStatus.RUNNING).update(
                        heartbeat_at=now
                    )
                    DetectionRun.objects.filter(pk=part.run_id).update(heartbeat_at=now)
                except Exception:
                    logger.exception("heartbeat of detection part %s failed", part.pk)
        finally:
            connections.close_all()

    thread = threading.Thread(target=beat, name=f"detection-heartbeat-{part.pk}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=lease.ttl_seconds)


def part_retry_later(part_id: int, reason: str, *, later: bool = True) -> str:
    """A part that met passing trouble (its drug busy with another run, the database away)
    waits, then the dispatcher hands it out again; after BUSY_ATTEMPTS (or at once when not
    `later`) it fails. Returns the part's status."""
    part = DrugRun.objects.get(pk=part_id)
    attempts = part.attempts + 1
    if not later or attempts >= BUSY_ATTEMPTS:
        _part_finish(part, RunStatus.FAILED, error=reason)
        return RunStatus.FAILED
    wait = min(lease_seconds(), 5 * 2 ** (attempts - 1))
    DrugRun.objects.filter(pk=part_id, status=RunStatus.QUEUED).update(
        attempts=attempts, not_before=timezone.now() + timedelta(seconds=wait), sent_at=None
    )
    return RunStatus.QUEUED


def _part_finish(
    part: DrugRun,
    status: str,
    *,
    error: str = "",
    counts: dict[str, Any] | None = None,
    notes: list[str] | None = None,
) -> None:
    now = timezone.now()
    with transaction.atomic():
        DrugRun.objects.filter(pk=part.pk).update(
            status=status, finished_at=now, error=error, counts=counts or {}, notes=notes or []
        )
        done = DrugRun.objects.filter(
            run_id=part.run_id, status__in=[RunStatus.SUCCEEDED, RunStatus.FAILED]
        ).count()
        DetectionRun.objects.filter(pk=part.run_id).update(drugs_done=done, heartbeat_at=now)
    run_finish_if_done(part.run_id)


def run_finish_if_done(run_id: int) -> None:
    """Close a run whose parts are all finished: succeeded, or failed naming the failures."""
    run = DetectionRun.objects.get(pk=run_id)
    if (
        run.status != RunStatus.RUNNING
        or run.parts.filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).exists()
    ):
        return
    parts = list(run.parts.select_related("drug"))
    failed = [p for p in parts if p.status == RunStatus.FAILED]
    counts: dict[str, int] = {}
    notes: list[str] = []
    for p in parts:
        for key, value in p.counts.items():
            if isinstance(value, int):
                counts[key] = counts.get(key, 0) + value
        notes += p.notes
    with transaction.atomic():
        closed = DetectionRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).update(
            status=RunStatus.FAILED if failed else RunStatus.SUCCEEDED,
            finished_at=timezone.now(),
            counts=counts,
            notes=notes,
            drugs_done=len(parts),
            error="; ".join(f"{p.drug.name}: {p.error}" for p in failed),
        )
        if closed:
            # The q-values need every part's tests; the run is seen finished with them.
            run_q_values_apply(run=run)


def run_execute(run: DetectionRun) -> DetectionRun:
    """The whole run in this process, drug after drug (command line, tasks without a broker)."""
    for part in run_start(run):
        try:
            drug_part_execute(part.pk)
        except (DrugBusy, OperationalError) as exc:
            # In-process there is no retry: the part fails and the next run does it.
            reason = (
                "another run was working on this drug" if isinstance(exc, DrugBusy) else str(exc)
            )
            _part_finish(part, RunStatus.FAILED, error=reason)
        except Exception:  # noqa: S112 - recorded on the part; the other drugs go on
            continue
    run_finish_if_done(run.pk)
    run.refresh_from_db()
    return run


def runs_sweep_stale() -> int:
    """Fail what a dead worker left behind: parts whose heartbeat stopped for a lease, runs
    that made no progress for twice the task time limit.

    The next run does their work: a dead worker's drug is free once its lease expires. Runs
    and parts still queued are not failed: the dispatcher hands them out again.
    """
    now = timezone.now()
    lost_before = now - timedelta(seconds=lease_seconds())
    lost = DrugRun.objects.filter(status=RunStatus.RUNNING).filter(
        Q(heartbeat_at__lt=lost_before) | Q(heartbeat_at__isnull=True, started_at__lt=lost_before)
    )
    run_ids = set(lost.values_list("run_id", flat=True))
    count = lost.update(
        status=RunStatus.FAILED, finished_at=now, error="worker lost (its heartbeat stopped)"
    )
    for run_id in run_ids:
        run_finish_if_done(run_id)
    stuck = DetectionRun.objects.filter(
        status=RunStatus.RUNNING, heartbeat_at__lt=now - stale_after()
    )
    for run in stuck:
        run.parts.filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).update(
            status=RunStatus.FAILED, error="worker lost (timed out)", finished_at=now
        )
        count += DetectionRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
            status=RunStatus.FAILED,
            finished_at=now,
            error="The run was lost before it finished; the next run does its work.",
        )
    return count


def drugs_behind() -> list[int]:
    """Drugs with cases received or changed (followed up, coded, voided, judged a duplicate)
    since their last successful run started and no run queued or running: detection that
    these reports could not queue (a broker down) catches up here. A case is the business
    of each of its formulary suspect drugs, the first one and any further one; the drugs
    are read with one query."""
    last_start = (
        DetectionRun.objects.filter(status=RunStatus.SUCCEEDED)
        .filter(Q(drug=OuterRef("pk")) | Q(drug__isnull=True))
        .order_by("-started_at")
        .values("started_at")[:1]
    )
    if DetectionRun.objects.filter(drug__isnull=True, status__in=ACTIVE).exists():
        return []
    busy = set(
        DetectionRun.objects.filter(status__in=ACTIVE, drug__isnull=False).values_list(
            "drug_id", flat=True
        )
    )
    as_first = (
        Report.objects.filter(drug=OuterRef("pk"))
        .order_by()
        .values("drug")
        .annotate(latest=Max("updated_at"))
        .values("latest")
    )
    as_further = (
        ReportDrug.objects.filter(drug=OuterRef("pk"), role=DrugRole.SUSPECT)
        .order_by()
        .values("drug")
        .annotate(latest=Max("report__updated_at"))
        .values("latest")
    )
    drugs = (
        Drug.objects.annotate(
            as_first=Subquery(as_first),
            as_further=Subquery(as_further),
            last_start=Subquery(last_start),
        )
        .filter(Q(as_first__isnull=False) | Q(as_further__isnull=False))
        .values_list("pk", "as_first", "as_further", "last_start")
    )
    behind = []
    for drug_id, first, further, started in drugs:
        latest = max(t for t in (first, further) if t is not None)
        if drug_id not in busy and (started is None or latest > started):
            behind.append(drug_id)
    return behind
