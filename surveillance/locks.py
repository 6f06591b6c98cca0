"""One detection per drug at a time: a Redis lock when Redis is configured, a database lease
otherwise. Both expire, so a worker that dies never holds a drug for ever."""

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


@contextmanager
def drug_lock(drug_id: int, ttl_seconds: int, wait_seconds: float = 0) -> Iterator[None]:
    """Hold the drug for ttl_seconds at most; raise DrugBusy if another holds it for longer
    than wait_seconds (0: at once, for workers whose task retries later)."""
    token = uuid.uuid4().hex
    deadline = time.monotonic() + wait_seconds
    if settings.REDIS_URL:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        key = f"pvtracker:detect:drug:{drug_id}"
        try:
            while not client.set(key, token, nx=True, ex=ttl_seconds):
                _wait_or_give_up(drug_id, deadline)
            yield
        finally:
            client.eval(_RELEASE, 1, key, token)
            client.close()
        return
    while not _db_acquire(drug_id, token, ttl_seconds):
        _wait_or_give_up(drug_id, deadline)
    try:
        yield
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
