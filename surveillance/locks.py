"""One detection per drug at a time: a Redis lock when Redis is configured, a database lease
otherwise. Both are short and renewed while their holder works (see Lease.renew), so a worker
that dies holds a drug for one lease at most, not for the task time limit."""

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from .models import DrugLock


class DrugBusy(Exception):
    """Another worker is running detection for this drug."""


_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('expire', KEYS[1], ARGV[2]) end
return 0
"""


class Lease:
    """A held drug: renew() extends it by its ttl, False when it was lost meanwhile."""

    def __init__(self, drug_id: int, token: str, ttl_seconds: int) -> None:
        self.drug_id, self.token, self.ttl_seconds = drug_id, token, ttl_seconds

    def renew(self) -> bool:
        if settings.REDIS_URL:
            import redis

            client = redis.Redis.from_url(settings.REDIS_URL)
            try:
                key = f"pvtracker:detect:drug:{self.drug_id}"
                return bool(client.eval(_RENEW, 1, key, self.token, self.ttl_seconds))
            finally:
                client.close()
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
    deadline = time.monotonic() + wait_seconds
    lease = Lease(drug_id, token, ttl_seconds)
    if settings.REDIS_URL:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        key = f"pvtracker:detect:drug:{drug_id}"
        try:
            while not client.set(key, token, nx=True, ex=ttl_seconds):
                _wait_or_give_up(drug_id, deadline)
            yield lease
        finally:
            client.eval(_RELEASE, 1, key, token)
            client.close()
        return
    while not _db_acquire(drug_id, token, ttl_seconds):
        _wait_or_give_up(drug_id, deadline)
    try:
        yield lease
    finally:
        DrugLock.objects.filter(drug_id=drug_id, holder=token).update(holder="", expires_at=None)


def _wait_or_give_up(drug_id: int, deadline: float) -> None:
    if time.monotonic() >= deadline:
        raise DrugBusy(drug_id)
    time.sleep(0.2)


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
