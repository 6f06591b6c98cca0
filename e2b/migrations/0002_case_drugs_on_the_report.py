from datetime import date

from django.db import migrations

# The routes the ICSR import understood, as it read them then (ICSRs give free text).
ROUTES = {
    "intravenous": "intravenous",
    "iv": "intravenous",
    "intravenous drip": "intravenous",
    "intravenous bolus": "intravenous",
    "subcutaneous": "subcutaneous",
    "sc": "subcutaneous",
    "intramuscular": "intramuscular",
    "im": "intramuscular",
    "oral": "oral",
    "by mouth": "oral",
    "po": "oral",
}
ROLES = {"suspect": "suspect", "interacting": "interacting", "not given": "not_given"}


def _date(value):
    try:
        return date.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


def _route(value):
    text = " ".join(str(value or "").lower().split())
    return ROUTES.get(text, "other") if text else ""


def move_case_drugs(apps, schema_editor):
    """Each received case's further suspects and other drugs become drugs of its report, in
    the order the ICSR named them, each kept by the name it was given. A further suspect is
    not linked to a formulary drug here: linking would judge the case's reactions against
    that drug's label, which only the report services can do (a follow-up naming the drug
    again links it)."""
    ReceivedCase = apps.get_model("e2b", "ReceivedCase")
    ReportDrug = apps.get_model("reports", "ReportDrug")
    cases = ReceivedCase.objects.select_related("report").order_by("pk")
    for case in cases.iterator():
        rows = [dict(row, role="suspect") for row in case.other_suspects or []]
        rows += list(case.concomitants or [])
        if not rows:
            continue
        report = case.report
        existing = ReportDrug.objects.filter(report=report).values_list("position", flat=True)
        position = max(existing, default=1)
        for row in rows:
            name = " ".join(str(row.get("name") or "").split())[:200] or "Unnamed drug"
            start, end = _date(row.get("start")), _date(row.get("end"))
            if start and end and end < start:
                end = None
            position += 1
            ReportDrug.objects.create(
                report=report,
                position=position,
                role=ROLES.get(row.get("role"), "concomitant"),
                drug=None,
                name=name,
                dose=str(row.get("dose") or "")[:100],
                route=_route(row.get("route")),
                therapy_start=start,
                therapy_end=end,
                added_in_version=report.version,
            )


class Migration(migrations.Migration):
    """A received case's drugs are its report's: the copies kept beside the case are moved
    to the report, then dropped."""

    dependencies = [
        ("e2b", "0001_received_case"),
        ("reference", "0004_learned_names_uncoded_label_wording"),
        ("reports", "0012_drug_not_administered"),
    ]

    operations = [
        migrations.RunPython(move_case_drugs, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name="receivedcase",
            name="concomitants",
        ),
        migrations.RemoveField(
            model_name="receivedcase",
            name="other_suspects",
        ),
    ]
