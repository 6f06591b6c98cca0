"""One detection per drug at a time: a Redis lock when Redis is configured, a database lease
otherwise. Both are short and renewed while their holder works (see Lease.renew), so a worker
that dies holds a drug for one lease at most, not for the task time limit."""

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import timedelta

import redis
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from redis.exceptions import LockNotOwnedError
from redis.lock import Lock

from .models import DrugLock

# How often a worker that waits for a drug tries again.
RETRY_SECONDS = 0.2


class DrugBusy(Exception):
    """Another worker is running detection for this drug."""


class Lease:
    """A held drug: renew() extends it by its ttl, False when it was lost meanwhile."""

    def __init__(
        self, drug_id: int, token: str, ttl_seconds: int, redis_lock: Lock | None = None
    ) -> None:
        self.drug_id, self.token, self.ttl_seconds = drug_id, token, ttl_seconds
        self.redis_lock = redis_lock

    def renew(self) -> bool:
        if self.redis_lock is not None:
            try:
                return self.redis_lock.reacquire()
            except LockNotOwnedError:
                return False
        expires = timezone.now() + timedelta(seconds=self.ttl_seconds)
        renewed = DrugLock.objects.filter(drug_id=self.drug_id, holder=self.token).update(
            expires_at=expires
        )
        return renewed == 1


@contextmanager
def drug_lock(drug_id: int, ttl_seconds: int, wait_seconds: float = 0) -> Iterator[Lease]:
    """Hold the drug for ttl_seconds unless renewed; raise DrugBusy if another holds it for
    longer than wait_seconds (0: at once, for workers whose part is tried again later)."""
    token = uuid.uuid4().hex
    if settings.REDIS_URL:
        with _redis_lock(drug_id, token, ttl_seconds, wait_seconds) as lease:
            yield lease
        return
    deadline = time.monotonic() + wait_seconds
    while not _db_acquire(drug_id, token, ttl_seconds):
        if time.monotonic() >= deadline:
            raise DrugBusy(drug_id)
        time.sleep(RETRY_SECONDS)
    try:
        yield Lease(drug_id, token, ttl_seconds)
    finally:
        DrugLock.objects.filter(drug_id=drug_id, holder=token).update(holder="", expires_at=None)


@contextmanager
def _redis_lock(drug_id: int, token: str, ttl_seconds: int, wait_seconds: float) -> Iterator[Lease]:
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        # thread_local=False: the lease is renewed from the worker's heartbeat thread.
        lock = client.lock(
            f"pvtracker:detect:drug:{drug_id}",
            timeout=ttl_seconds,
            sleep=RETRY_SECONDS,
            blocking=wait_seconds > 0,
            blocking_timeout=wait_seconds,
            thread_local=False,
        )
        if not lock.acquire(token=token):
            raise DrugBusy(drug_id)
        try:
            yield Lease(drug_id, token, ttl_seconds, lock)
        finally:
            # A lease lost meanwhile is another worker's now: nothing to release.
            with suppress(LockNotOwnedError):
                lock.release()
    finally:
        client.close()


def _db_acquire(drug_id: int, token: str, ttl_seconds: int) -> bool:
    now = timezone.now()
    try:
        with transaction.atomic():
            DrugLock.objects.get_or_create(drug_id=drug_id)
    except IntegrityError:
        pass
    # A conditional update claims the lease: only one worker's update matches.
    claimed = DrugLock.objects.filter(
        Q(expires_at__isnull=True) | Q(expires_at__lt=now), drug_id=drug_id
    ).update(holder=token, expires_at=now + timedelta(seconds=ttl_seconds))
    return claimed == 1
