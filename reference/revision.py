"""The reference data's revision: a value that changes whenever a term, name, group
membership, drug, label or label entry does.

Each process keeps its term search index, and the label listings reports are judged
against, until the revision differs from the one they were read at, so an edit in the admin,
a loader run or a name added by code reaches every process at its next request.
Model signals change it on each save or delete; bulk writes, which send no signals,
change it themselves.
"""

from typing import Any
from uuid import uuid4

from django.db.models import Subquery, Value
from django.db.models.functions import Coalesce

from .models import ReferenceDataset

REVISION = "terminology-revision"


def reference_revision() -> str | None:
    return (
        ReferenceDataset.objects.filter(name=REVISION).values_list("fingerprint", flat=True).first()
    )


def reference_revision_expression() -> Coalesce:
    """The revision as a query expression ("" before the first), to compare with a stored
    one within another query."""
    revision = ReferenceDataset.objects.filter(name=REVISION).values("fingerprint")[:1]
    return Coalesce(Subquery(revision), Value(""))


def reference_revision_bump() -> None:
    ReferenceDataset.objects.update_or_create(name=REVISION, defaults={"fingerprint": uuid4().hex})


def on_reference_change(**kwargs: Any) -> None:
    """post_save / post_delete receiver for the reference models."""
    reference_revision_bump()
