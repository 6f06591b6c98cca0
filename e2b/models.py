from django.db import models
from django.utils import timezone

from reports.models import Report


class ReceivedCase(models.Model):
    """A case received as an ICSR, keyed by the sender's safety report id (C.1.1): what makes
    a batch sent twice change nothing, and a later version of the case a follow-up. The
    case's drugs are the report's (its drug and its ReportDrug rows)."""

    safety_report_id = models.CharField("C.1.1", max_length=100, unique=True)
    worldwide_id = models.CharField("C.1.8.1", max_length=100, blank=True)
    sender = models.CharField("N.2.r.2", max_length=60, blank=True)
    report = models.ForeignKey(Report, on_delete=models.PROTECT, related_name="received_icsrs")
    # C.1.5 and C.1.2 of the version last applied, as sent (HL7 time stamps).
    latest_information = models.CharField("C.1.5", max_length=30)
    created = models.CharField("C.1.2", max_length=30, blank=True)
    content_hash = models.CharField(max_length=64)
    nullified = models.BooleanField(default=False)
    received_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return self.safety_report_id
