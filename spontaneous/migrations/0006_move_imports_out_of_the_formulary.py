"""Spontaneous reports move to their own products and events, and what earlier imports
added to the formulary and the terminology leaves them.

Every source name becomes a Source; every drug seen in a source's pairs becomes one of its
products (named as the drug, keyed by the name in any case), every term an
event (keyed by its spelling-insensitive name); each keeps a link to its drug or term, and
every pair is re-pointed. Every report and every pair is kept (two drugs whose names
differ only in case become one product, so a report that named both with one
event keeps that pair once).

A drug that an import created (one reported in a source with no label, no exposure, no
hospital report naming it, no brand name, no audit entry, and no signal ever reviewed:
moved from new, assigned, or audited) leaves the formulary: its products keep their name
and lose the link. Its signals, their evaluations, its runs' parts, its own detection runs
and its lock are computed data, recomputed by the next detection, and are removed with it.
Likewise a term that an import created (a local term "Not yet classified", with no other
name, no MedDRA code, no group, no CTCAE criteria, no reaction, no label entry, no audit
entry and no reviewed signal) leaves the terminology, with its unreviewed signals.

Disproportionality signals name the source whose reports they came from (the one with
the most reports of the pair). The disproportionality baselines, computed data keyed by
drug and term, are removed: the next detection computes them per source.

Undoing it registers again, as drugs and local terms, the products and events that have
no link, as the imports of that time did.
"""

from collections import defaultdict
from uuid import uuid4

from django.db import migrations
from django.db.models import Count, Min, Q
from django.utils.text import slugify

from reference.normalize import name_key

NEW_TERM_SOC = "Not yet classified"
REVISION = "terminology-revision"
CHUNK = 500


def _product_key(name):
    return name.strip().casefold()[:300]


def _event_key(name):
    return (name_key(name) or _product_key(name))[:300]


def _unique_slug(base, taken, fallback, length):
    base = slugify(base)[:length].strip("-") or fallback
    slug, number = base, 1
    while slug in taken:
        number += 1
        suffix = f"-{number}"
        slug = base[: length - len(suffix)] + suffix
    taken.add(slug)
    return slug


def _chunks(ids):
    ids = list(ids)
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def _reviewed_signals(apps):
    """Signals an officer has touched: moved from new, assigned, or with audit entries."""
    Signal = apps.get_model("surveillance", "Signal")
    AuditEntry = apps.get_model("audit", "AuditEntry")
    audited = AuditEntry.objects.filter(target_type="signal").values("target_id")
    return Signal.objects.filter(
        ~Q(status="new") | Q(assigned_to__isnull=False) | Q(pk__in=audited)
    )


def _signals_remove(apps, signals):
    SignalEvaluation = apps.get_model("surveillance", "SignalEvaluation")
    ids = list(signals.values_list("pk", flat=True))
    for chunk in _chunks(ids):
        SignalEvaluation.objects.filter(signal_id__in=chunk).delete()
        apps.get_model("surveillance", "Signal").objects.filter(pk__in=chunk).delete()


def _sources(apps):
    Source = apps.get_model("spontaneous", "Source")
    ReportImport = apps.get_model("spontaneous", "ReportImport")
    CaseReport = apps.get_model("spontaneous", "CaseReport")
    names = set(ReportImport.objects.values_list("source_name", flat=True))
    names |= set(CaseReport.objects.values_list("source_name", flat=True).distinct())
    taken = set(Source.objects.values_list("slug", flat=True))
    sources = {}
    for name in sorted(names):
        source = Source.objects.filter(name=name[:100]).first()
        if source is None:
            slug = _unique_slug(name, taken, "source", 60)
            source = Source.objects.create(name=name[:100] or slug, slug=slug)
        sources[name] = source.pk
        ReportImport.objects.filter(source_name=name).update(source_id=source.pk)
        CaseReport.objects.filter(source_name=name).update(source_id=source.pk)
    return sources


def _products_and_events(apps):
    Drug = apps.get_model("reference", "Drug")
    Term = apps.get_model("reference", "Term")
    Product = apps.get_model("spontaneous", "Product")
    Event = apps.get_model("spontaneous", "Event")
    Pair = apps.get_model("spontaneous", "CaseReportPair")
    Source = apps.get_model("spontaneous", "Source")
    several = Source.objects.count() > 1

    def move(column, target, model, names, key_of, link):
        seen = sorted(
            Pair.objects.filter(**{f"{column}__isnull": False})
            .values_list("report__source_id", column)
            .order_by()
            .distinct()
        )
        made = {}
        for source_id, old_id in seen:
            name = names[old_id]
            key = key_of(name)
            if (source_id, key) not in made:
                made[(source_id, key)] = model.objects.create(
                    source_id=source_id, name=name[:300], key=key, **{link: old_id}
                ).pk
            pairs = Pair.objects.filter(**{column: old_id})
            if several:
                pairs = pairs.filter(report__source_id=source_id)
            pairs.update(**{target: made[(source_id, key)]})

    drug_ids = Pair.objects.values("drug_id")
    term_ids = Pair.objects.values("term_id")
    move(
        "drug_id",
        "product_id",
        Product,
        dict(Drug.objects.filter(pk__in=drug_ids).values_list("pk", "name")),
        _product_key,
        "drug_id",
    )
    move(
        "term_id",
        "event_id",
        Event,
        dict(Term.objects.filter(pk__in=term_ids).values_list("pk", "name")),
        _event_key,
        "term_id",
    )
    # Pairs that became one (a report naming two drugs that are now one product).
    repeated = (
        Pair.objects.values("report_id", "product_id", "event_id")
        .annotate(n=Count("pk"), first=Min("pk"))
        .filter(n__gt=1)
        .order_by()
    )
    for row in repeated:
        Pair.objects.filter(
            report_id=row["report_id"], product_id=row["product_id"], event_id=row["event_id"]
        ).exclude(pk=row["first"]).delete()


def _drugs_leave(apps, reported):
    """The drugs imports created leave the formulary; the number that left."""
    Drug = apps.get_model("reference", "Drug")
    Product = apps.get_model("spontaneous", "Product")
    Signal = apps.get_model("surveillance", "Signal")
    SignalEvaluation = apps.get_model("surveillance", "SignalEvaluation")
    DetectionRun = apps.get_model("surveillance", "DetectionRun")
    DrugRun = apps.get_model("surveillance", "DrugRun")
    DrugLock = apps.get_model("surveillance", "DrugLock")
    AuditEntry = apps.get_model("audit", "AuditEntry")
    used = [
        apps.get_model("reference", "Label").objects.values("drug_id"),
        apps.get_model("reports", "Exposure").objects.values("drug_id"),
        apps.get_model("reports", "Report").objects.values("drug_id"),
        apps.get_model("reports", "Reaction").objects.values("drug_id"),
        apps.get_model("reports", "ReportDrug").objects.filter(drug__isnull=False).values(
            "drug_id"
        ),
        apps.get_model("reports", "SuspectReaction").objects.values("drug_id"),
        _reviewed_signals(apps).values("drug_id"),
        AuditEntry.objects.filter(target_type="drug").values("target_id"),
    ]
    candidates = Drug.objects.filter(pk__in=reported, brand_names=[])
    for query in used:
        candidates = candidates.exclude(pk__in=query)
    leaving = list(candidates.values_list("pk", flat=True))
    for chunk in _chunks(leaving):
        Product.objects.filter(drug_id__in=chunk).update(drug_id=None)
        _signals_remove(apps, Signal.objects.filter(drug_id__in=chunk))
        runs = DetectionRun.objects.filter(drug_id__in=chunk)
        SignalEvaluation.objects.filter(run__in=runs).delete()
        DrugRun.objects.filter(Q(drug_id__in=chunk) | Q(run__in=runs)).delete()
        runs.delete()
        DrugLock.objects.filter(drug_id__in=chunk).delete()
        Drug.objects.filter(pk__in=chunk).delete()
    return len(leaving)


def _terms_leave(apps, reported):
    """The terms imports created leave the terminology; the number that left."""
    Term = apps.get_model("reference", "Term")
    TermName = apps.get_model("reference", "TermName")
    Event = apps.get_model("spontaneous", "Event")
    Signal = apps.get_model("surveillance", "Signal")
    AuditEntry = apps.get_model("audit", "AuditEntry")
    GroupMembership = apps.get_model("reference", "GroupMembership")
    LabelEntry = apps.get_model("reference", "LabelEntry")
    used = [
        TermName.objects.filter(~Q(kind="name") | Q(added_by__isnull=False)).values("term_id"),
        GroupMembership.objects.values("group_id"),
        GroupMembership.objects.values("member_id"),
        apps.get_model("reference", "CtcaeCriteria").objects.values("term_id"),
        LabelEntry.objects.filter(term__isnull=False).values("term_id"),
        LabelEntry.covers.through.objects.values("term_id"),
        apps.get_model("reports", "Reaction").objects.filter(term__isnull=False).values(
            "term_id"
        ),
        apps.get_model("reports", "SuspectReaction").objects.filter(term__isnull=False).values(
            "term_id"
        ),
        _reviewed_signals(apps).values("term_id"),
        AuditEntry.objects.filter(target_type="term").values("target_id"),
    ]
    candidates = Term.objects.filter(
        pk__in=reported,
        source="local",
        soc=NEW_TERM_SOC,
        is_group=False,
        meddra_code="",
        meddra_llt_code="",
        meddra_pt_code="",
    )
    for query in used:
        candidates = candidates.exclude(pk__in=query)
    leaving = list(candidates.values_list("pk", flat=True))
    for chunk in _chunks(leaving):
        Event.objects.filter(term_id__in=chunk).update(term_id=None)
        _signals_remove(apps, Signal.objects.filter(term_id__in=chunk))
        TermName.objects.filter(term_id__in=chunk).delete()
        Term.objects.filter(pk__in=chunk).delete()
    return len(leaving)


def _signals_name_sources(apps):
    """Each disproportionality signal names the source with the most reports of its pair."""
    Signal = apps.get_model("surveillance", "Signal")
    Source = apps.get_model("spontaneous", "Source")
    Pair = apps.get_model("spontaneous", "CaseReportPair")
    signals = Signal.objects.filter(kind="disproportionality", source__isnull=True)
    sources = list(Source.objects.order_by("pk").values_list("pk", flat=True))
    if len(sources) == 1:
        signals.update(source_id=sources[0])
        return
    for signal in signals:
        counts = (
            Pair.objects.filter(product__drug_id=signal.drug_id, event__term_id=signal.term_id)
            .values("report__source_id")
            .annotate(n=Count("report_id", distinct=True))
            .order_by("-n", "report__source_id")
            .values_list("report__source_id", flat=True)
        )
        best = counts.first() or (sources[0] if sources else None)
        if best is not None:
            Signal.objects.filter(pk=signal.pk).update(source_id=best)


def forwards(apps, schema_editor):
    Pair = apps.get_model("spontaneous", "CaseReportPair")
    drugs = list(Pair.objects.values_list("drug_id", flat=True).order_by().distinct())
    terms = list(Pair.objects.values_list("term_id", flat=True).order_by().distinct())
    _sources(apps)
    _products_and_events(apps)
    Pair.objects.update(drug_id=None, term_id=None, batch_id=None)
    left = _drugs_leave(apps, drugs) + _terms_leave(apps, terms)
    _signals_name_sources(apps)
    apps.get_model("spontaneous", "DisproportionalityBaseline").objects.all().delete()
    if left:
        apps.get_model("reference", "ReferenceDataset").objects.update_or_create(
            name=REVISION, defaults={"fingerprint": uuid4().hex}
        )


def backwards(apps, schema_editor):
    Drug = apps.get_model("reference", "Drug")
    Term = apps.get_model("reference", "Term")
    TermName = apps.get_model("reference", "TermName")
    Product = apps.get_model("spontaneous", "Product")
    Event = apps.get_model("spontaneous", "Event")
    Pair = apps.get_model("spontaneous", "CaseReportPair")
    Source = apps.get_model("spontaneous", "Source")
    drugs = {d.name.casefold(): d.pk for d in Drug.objects.all()}
    taken = set(Drug.objects.values_list("slug", flat=True))
    for product in Product.objects.filter(drug__isnull=True).order_by("pk"):
        name = " ".join(product.name.split())[:200]
        if name.casefold() not in drugs:
            slug = _unique_slug(name, taken, "drug", 90)
            drugs[name.casefold()] = Drug.objects.create(name=name, slug=slug).pk
        product.drug_id = drugs[name.casefold()]
        product.save(update_fields=["drug"])
    terms = {t.name.casefold(): t.pk for t in Term.objects.all()}
    for event in Event.objects.filter(term__isnull=True).order_by("pk"):
        name = event.name[:200]
        if name.casefold() not in terms:
            term = Term.objects.create(name=name, soc=NEW_TERM_SOC, source="local")
            TermName.objects.create(term=term, text=name, key=name_key(name), kind="name")
            terms[name.casefold()] = term.pk
        event.term_id = terms[name.casefold()]
        event.save(update_fields=["term"])
    for product in Product.objects.all():
        Pair.objects.filter(product_id=product.pk).update(drug_id=product.drug_id)
    for event in Event.objects.all():
        Pair.objects.filter(event_id=event.pk).update(term_id=event.term_id)
    CaseReport = apps.get_model("spontaneous", "CaseReport")
    ReportImport = apps.get_model("spontaneous", "ReportImport")
    for source in Source.objects.all():
        CaseReport.objects.filter(source_id=source.pk).update(source_name=source.name)
        ReportImport.objects.filter(source_id=source.pk).update(source_name=source.name)
    batches = defaultdict(list)
    for report_id, batch_id in CaseReport.objects.values_list("pk", "batch_id"):
        batches[batch_id].append(report_id)
    for batch_id, reports in batches.items():
        for chunk in _chunks(reports):
            Pair.objects.filter(report_id__in=chunk).update(batch_id=batch_id)
    apps.get_model("surveillance", "Signal").objects.update(source_id=None)
    apps.get_model("spontaneous", "DisproportionalityBaseline").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("spontaneous", "0005_sources_products_events"),
        ("surveillance", "0009_signal_source"),
        ("reports", "0011_several_suspect_drugs"),
        ("reference", "0005_meddra_codes_and_releases"),
        ("audit", "0002_target_label_text"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
