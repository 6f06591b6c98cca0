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
REASON = (
    "The further suspect drugs an ICSR named were kept beside the case; they are now the "
    "report's, and its reactions are judged against their labels too."
)


def _key(name):
    return " ".join(str(name or "").split()).casefold()


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
    the order the ICSR named them: a suspect matched by name, slug or brand to a formulary
    drug is that drug, judged against its current label; any other name is kept as given.
    A drug the report names already is kept by name only, so nothing is lost."""
    ReceivedCase = apps.get_model("e2b", "ReceivedCase")
    ReportDrug = apps.get_model("reports", "ReportDrug")
    Drug = apps.get_model("reference", "Drug")
    Label = apps.get_model("reference", "Label")
    drugs = {}
    for drug in Drug.objects.all():
        for name in [drug.name, drug.slug, *(drug.brand_names or [])]:
            drugs.setdefault(_key(name), drug)
    labels = dict(Label.objects.filter(is_current=True).values_list("drug_id", "pk"))
    judged = []
    cases = ReceivedCase.objects.select_related("report__drug").order_by("pk")
    for case in cases.iterator():
        rows = [dict(row, role="suspect") for row in case.other_suspects or []]
        rows += list(case.concomitants or [])
        if not rows:
            continue
        report = case.report
        existing = list(ReportDrug.objects.filter(report=report).order_by("position"))
        linked = {report.drug_id} | {d.drug_id for d in existing if d.drug_id}
        position = max([d.position for d in existing], default=1)
        link_added = False
        for row in rows:
            name = " ".join(str(row.get("name") or "").split())[:200] or "Unnamed drug"
            role = ROLES.get(row.get("role"), "concomitant")
            drug = drugs.get(_key(name)) if role == "suspect" else None
            if drug is not None and drug.pk in linked:
                drug = None
            start, end = _date(row.get("start")), _date(row.get("end"))
            if start and end and end < start:
                end = None
            position += 1
            ReportDrug.objects.create(
                report=report,
                position=position,
                role=role,
                drug=drug,
                name=name,
                dose=str(row.get("dose") or "")[:100],
                route=_route(row.get("route")),
                therapy_start=start,
                therapy_end=end,
                label_id=labels.get(drug.pk) if drug is not None else None,
                added_in_version=report.version,
            )
            if drug is not None:
                linked.add(drug.pk)
                link_added = True
        if link_added:
            judged.append(report.pk)
    if judged:
        # Listedness is the product's judgement of a term against a label: the report
        # services make it (only a database that imported ICSRs before this migration
        # has such cases).
        from reports.models import Report
        from reports.services.reports import report_suspects_rejudge

        for report in Report.objects.filter(pk__in=judged):
            report_suspects_rejudge(report=report, reason=REASON)


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
