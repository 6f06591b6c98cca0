"""Patients and exposures: the treated cohort that incidences are computed over.

A patient is known at a site by a pseudonymous reference. An exposure is a patient's treatment
with a drug, registered on its own (one row, a list or a CSV file) or as part of a report.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import Site, User
from audit.services import audit_record
from reference.models import Drug
from reference.selectors import drug_find

from ..choices import Route, Source
from ..models import Exposure, Patient
from ..validation import EARLIEST_DATE, PATIENT_REFERENCE, Errors, ReportInvalid, site_named


def patient_get_or_create(
    *,
    site: Site,
    reference: str,
    age: int | None = None,
    sex: str = "",
    weight_kg: Decimal | None = None,
) -> tuple[Patient, bool]:
    """The site's patient with this reference, created or brought up to date, and whether
    it was created now.

    Details that are given replace the stored ones; details left out keep them. Two
    reports naming a new patient at once both end with the one row: the (site,
    reference) constraint stops the second insert, and get_or_create then reads the
    first one's patient.
    """
    given = {
        name: value
        for name, value in (("age", age), ("sex", sex), ("weight_kg", weight_kg))
        if value not in (None, "")
    }
    patient, created = Patient.objects.get_or_create(site=site, reference=reference, defaults=given)
    changed = [name for name, value in given.items() if getattr(patient, name) != value]
    if changed:
        for name in changed:
            setattr(patient, name, given[name])
        patient.save(update_fields=changed)
    return patient, created


def exposure_ensure(
    *, patient: Patient, drug: Drug, actor: User, source: str, **details: Any
) -> None:
    """Register the exposure unless the patient already has one to this drug."""
    values = {k: v for k, v in details.items() if v not in (None, "")}
    Exposure.objects.bulk_create(
        [
            Exposure(
                patient=patient,
                drug=drug,
                registered_by=actor,
                source=source,
                from_report=True,
                **values,
            )
        ],
        ignore_conflicts=True,
    )


@dataclass
class ExposureRow:
    patient: str
    drug: str
    start_date: date | None = None
    dose: str = ""
    route: str = ""
    lot_number: str = ""
    end_date: date | None = None
    # The site the row names, if any: it must be the site the rows are registered for.
    site: str = ""


@dataclass
class ExposureResult:
    exposure: Exposure
    created: bool


BATCH = 500


def _batches(values: Sequence[Any]) -> list[Sequence[Any]]:
    return [values[i : i + BATCH] for i in range(0, len(values), BATCH)]


def _exposures_of(
    patient_ids: Sequence[int], keys: set[tuple[int, int]] | None = None
) -> dict[tuple[int, int], Exposure]:
    """The exposures of these patients by (patient id, drug id), only those keys if given."""
    found = {}
    for part in _batches(patient_ids):
        for exposure in Exposure.objects.filter(patient_id__in=part):
            key = (exposure.patient_id, exposure.drug_id)
            if keys is None or key in keys:
                found[key] = exposure
    return found


def exposures_check(
    *, site: Site, rows: Sequence[ExposureRow], start_required: bool = False
) -> dict[str, list[str]]:
    """Every content error of every row at once, keyed "<row index>.<field>": unknown drugs
    and sites, dates out of order or out of range. Empty when the rows can be registered."""
    return _rows_checked(site, rows, start_required)[0].found


def _rows_checked(
    site: Site, rows: Sequence[ExposureRow], start_required: bool
) -> tuple[Errors, dict[str, Drug | None]]:
    errors = Errors()
    today = timezone.localdate()
    drugs: dict[str, Drug | None] = {}
    sites: dict[str, Site | None] = {}
    for i, row in enumerate(rows):
        prefix = str(i)
        try:
            PATIENT_REFERENCE(row.patient.strip())
        except Exception as exc:
            errors.add(f"{prefix}.patient", " ".join(getattr(exc, "messages", [str(exc)])))
        key = row.drug.strip()
        if key not in drugs:
            drugs[key] = drug_find(key) if key else None
        if drugs[key] is None:
            errors.add(
                f"{prefix}.drug", f"Unknown drug {row.drug!r}." if key else "The drug is required."
            )
        named = row.site.strip()
        if named:
            if named not in sites:
                sites[named] = site_named(named)
            if sites[named] is None:
                errors.add(f"{prefix}.site", f"Unknown site {named!r}.")
            elif sites[named] != site:
                errors.add(
                    f"{prefix}.site",
                    f"The row names {sites[named]}, but these patients are registered for "
                    f"{site}: register each site's patients separately.",
                )
        for name, value in (("start_date", row.start_date), ("end_date", row.end_date)):
            words = name.replace("_", " ")
            if value is not None and value > today:
                errors.add(f"{prefix}.{name}", f"The {words} is in the future.")
            elif value is not None and value < EARLIEST_DATE:
                errors.add(f"{prefix}.{name}", f"The {words} is before {EARLIEST_DATE:%Y}.")
        if row.start_date is None and start_required:
            errors.add(f"{prefix}.start_date", "The start date is required.")
        if row.start_date and row.end_date and row.end_date < row.start_date:
            errors.add(
                f"{prefix}.end_date",
                f"The end date {row.end_date} is before the start date {row.start_date}.",
            )
        if row.route and row.route not in Route.values:
            errors.add(f"{prefix}.route", f"Route must be one of {', '.join(Route.values)}.")
        for name, limit in (("dose", 100), ("lot_number", 50)):
            if len(getattr(row, name)) > limit:
                errors.add(f"{prefix}.{name}", f"At most {limit} characters.")
    return errors, drugs


@transaction.atomic
def exposures_register(
    *,
    actor: User,
    site: Site,
    rows: Sequence[ExposureRow],
    source: str = Source.WEB,
    start_required: bool = False,
) -> list[ExposureResult]:
    """Register exposures, all or nothing; an existing patient-drug pair is returned as it is.
    The web page requires a start date; the API leaves it optional."""
    errors, drugs = _rows_checked(site, rows, start_required)
    if errors.found:
        raise ReportInvalid(errors.found)
    # A few statements for the whole batch, not a few per row: a file of thousands of rows
    # is registered well within a web request.
    references = list(dict.fromkeys(row.patient.strip() for row in rows))
    Patient.objects.bulk_create(
        [Patient(site=site, reference=r) for r in references],
        ignore_conflicts=True,
        batch_size=BATCH,
    )
    patients = {
        p.reference: p
        for part in _batches(references)
        for p in Patient.objects.filter(site=site, reference__in=part)
    }
    wanted = [(patients[row.patient.strip()], drugs[row.drug.strip()], row) for row in rows]
    patient_ids = list({patient.pk for patient, _, _ in wanted})
    known = _exposures_of(patient_ids)
    new: dict[tuple[int, int], Exposure] = {}
    for patient, drug, row in wanted:
        assert drug is not None
        pair = (patient.pk, drug.pk)
        if pair not in known and pair not in new:
            new[pair] = Exposure(
                patient=patient,
                drug=drug,
                registered_by=actor,
                source=source,
                start_date=row.start_date,
                end_date=row.end_date,
                dose=row.dose,
                route=row.route,
                lot_number=row.lot_number,
            )
    Exposure.objects.bulk_create(new.values(), ignore_conflicts=True, batch_size=BATCH)
    # An exposure that a report had registered becomes part of the registered cohort.
    from_reports = [e.pk for e in known.values() if e.from_report]
    for part in _batches(from_reports):
        Exposure.objects.filter(pk__in=part).update(from_report=False)
    registered = {**known, **_exposures_of(patient_ids, keys=set(new))} if new else known
    results = []
    for patient, drug, _ in wanted:
        assert drug is not None
        pair = (patient.pk, drug.pk)
        exposure = registered[pair]
        exposure.from_report = False
        results.append(ExposureResult(exposure, created=new.pop(pair, None) is not None))
    created_count = sum(r.created for r in results)
    if created_count:
        audit_record(
            actor=actor,
            action="exposure.register",
            target=site,
            changes={"created": created_count, "rows": len(rows), "source": source},
        )
    return results
