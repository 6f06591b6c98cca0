"""The terminology's revision: a value that changes whenever a term, name or membership does.

The search index of each process compares it with the revision it was built
from, so an edit in the admin, a loader run or a name added by code reaches
every process at its next search. Model signals change it on each save or
delete; the loader, whose bulk writes send no signals, changes it itself.
"""

from typing import Any
from uuid import uuid4

from .models import ReferenceDataset

REVISION = "terminology-revision"


def terminology_revision() -> str | None:
    return (
        ReferenceDataset.objects.filter(name=REVISION).values_list("fingerprint", flat=True).first()
    )


def terminology_revision_bump() -> None:
    ReferenceDataset.objects.update_or_create(name=REVISION, defaults={"fingerprint": uuid4().hex})


def on_terminology_change(**kwargs: Any) -> None:
    """post_save / post_delete receiver for Term, TermName and GroupMembership."""
    terminology_revision_bump()
