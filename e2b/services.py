"""ICSR export and import. Exports are checked against the rule set and audited; imports file
reports through the report services (new cases, follow-ups, voids), all or nothing."""

import difflib
import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from accounts.models import User
from audit.services import audit_record
from reference.models import Drug, Term
from reference.selectors import drug_find
from reference.services import DrugNameError, drug_get_or_create
from reports.choices import Causality, DrugRole, Outcome, Source
from reports.inputs import (
    DrugInput,
    FollowUpInput,
    PatientInput,
    ReactionInput,
    ReactionUpdate,
    ReportInput,
)
from reports.models import PATIENT_REFERENCE, Report, ReportVersion
from reports.services import report_follow_up, report_submit, report_void
from reports.validation import ReportInvalid

from . import codes, conf
from .builder import (
    GRADE_LINE,
    GRADES_HEADING,
    Message,
    build_batch,
    case_id,
    serialize,
    term_code,
)
from .drugs import ROLES
from .models import ReceivedCase
from .reader import Icsr, IcsrDrug, IcsrReaction, read_batch, ts_key
from .rules import REQUIRED, Problem, check_batch
from .selectors import EXPORT_ACTION, reports_sent

AGGREGATE_NAMES = {"AGGREGATE", "AGGREGRATE", "SUMMARY"}
CAUSALITY_WORDS = {
    "certain": Causality.CERTAIN,
    "probable": Causality.PROBABLE,
    "likely": Causality.PROBABLE,
    "probable / likely": Causality.PROBABLE,
    "possible": Causality.POSSIBLE,
    "unlikely": Causality.UNLIKELY,
    "conditional": Causality.CONDITIONAL,
    "unclassified": Causality.CONDITIONAL,
    "conditional / unclassified": Causality.CONDITIONAL,
    "unassessable": Causality.UNASSESSABLE,
    "unclassifiable": Causality.UNASSESSABLE,
    "unassessable / unclassifiable": Causality.UNASSESSABLE,
}
ROUTE_WORDS = {
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
FROM_A_STUDY = "The ICSR is a report from a study (C.1.3 = 2), not a spontaneous report."
NAMED_AGAIN = "The ICSR names these drugs again (kept once on the report, as first named):"
ESTIMATED_GRADES = (
    "CTCAE grades were not given in the ICSR; each was estimated from the reaction's "
    "seriousness and outcome."
)


# Export -------------------------------------------------------------------------------------


class ExportBlocked(Exception):
    """The export would break a rule; nothing left."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


@dataclass
class Export:
    content: bytes
    file_name: str
    reports: list[Report]


def latest_information(report: Report) -> date:
    """C.1.5: the day of the case's newest information (its last version, or its void)."""
    if report.is_void and report.voided_at is not None:
        return timezone.localdate(report.voided_at)
    last = ReportVersion.objects.filter(report=report).aggregate(at=Max("created_at"))["at"]
    return timezone.localdate(last or report.received_at)


def _uncoded(report: Report) -> list[Problem]:
    problems = []
    for i, reaction in enumerate(report.reactions.all(), start=1):
        if term_code(reaction):
            continue
        if reaction.term is None:
            text = (
                f"reaction {i} (“{reaction.verbatim}”) awaits coding, so it has no MedDRA code: "
                "code it to a term from the coding queue first."
            )
        else:
            text = (
                f"reaction {i} ({reaction.term.name}) has no MedDRA code (E.i.2.1b). Give the "
                f"term {reaction.term.name!r} a code: import MedDRA (manage.py import_meddra) "
                "or set its MedDRA code in the admin (Reference, Terms). No code is invented."
            )
        problems.append(Problem(REQUIRED, case_id(report), text))
    if not conf.meddra_version():
        problems.append(
            Problem(
                REQUIRED,
                case_id(report),
                "No MedDRA version is known for E.i.2.1a: import the site's MedDRA release "
                "(manage.py import_meddra) or set E2B_MEDDRA_VERSION to the version of the "
                "codes the terms carry.",
            )
        )
    return problems


def export_messages(reports: Sequence[Report]) -> tuple[list[Message], list[Problem], set[str]]:
    """The messages of an export, the problems found before building, and the C.1.1 of the
    cases never sent before."""
    sent = reports_sent(r.pk for r in reports)
    messages, problems, first = [], [], set()
    for report in reports:
        problems.extend(_uncoded(report))
        if report.pk not in sent:
            first.add(case_id(report))
        nullification = ""
        if report.is_void:
            if report.pk not in sent:
                # FDA R0101: a nullification is never a case's first transmission. The
                # receiver never had this case, so there is nothing to nullify.
                problems.append(
                    Problem(
                        REQUIRED,
                        case_id(report),
                        "the report is void and was never sent: there is nothing for the "
                        "receiver to nullify, and a first transmission may not be a "
                        "nullification (FDA R0101).",
                    )
                )
            nullification = report.void_reason.strip()
        messages.append(Message(report, latest_information(report), nullification))
    return messages, problems, first


def export_file_name(reports: Sequence[Report], moment: Any) -> str:
    stamp = timezone.localtime(moment).strftime("%Y%m%d%H%M%S")
    if len(reports) == 1:
        return f"{reports[0].reference}-e2b-{stamp}.xml"
    return f"icsr-batch-{stamp}.xml"


def icsr_export(*, reports: Sequence[Report], actor: User | None, file_name: str = "") -> Export:
    """Write the reports as one batch, check it, and audit each report's export. Raises
    ExportBlocked, naming every broken rule, when the batch may not leave."""
    if not reports:
        raise ExportBlocked([Problem(REQUIRED, "batch", "No report to export.")])
    now = timezone.now()
    messages, problems, first = export_messages(reports)
    if problems:
        raise ExportBlocked(problems)
    batch_number = uuid.uuid4().hex
    root = build_batch(messages, created=now, batch_number=batch_number)
    problems = check_batch(root, first_transmissions=first)
    if problems:
        raise ExportBlocked(problems)
    name = file_name or export_file_name(reports, now)
    with transaction.atomic():
        for message in messages:
            report = message.report
            audit_record(
                actor=actor,
                action=EXPORT_ACTION,
                target=report,
                changes={
                    "file": name,
                    "version": report.version,
                    "safety_report_id": case_id(report),
                    "batch": batch_number,
                    "nullification": bool(message.nullification),
                },
            )
    return Export(serialize(root), name, list(reports))


# Import -------------------------------------------------------------------------------------


class ImportRefused(Exception):
    """The batch cannot be imported; errors lists each case's problems. Nothing was saved."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))


@dataclass
class Imported:
    report: Report
    created: bool
    action: str  # created, unchanged, follow_up, nullified
    safety_report_id: str = ""


@dataclass
class _Case:
    icsr: Icsr
    errors: list[str] = field(default_factory=list)


def content_hash(icsr: Icsr) -> str:
    """What a version of a case says, without what changes with every sending (message id,
    creation time, element UUIDs)."""
    reactions = {r.uid: i for i, r in enumerate(icsr.reactions)}
    drugs = {d.uid: i for i, d in enumerate(icsr.drugs)}
    body = asdict(icsr)
    for key in ("position", "message_id", "created", "causality", "meddra_versions"):
        body.pop(key)
    for item in (*body["reactions"], *body["drugs"]):
        item.pop("uid")
    body["causality"] = sorted(
        [reactions.get(r, -1), drugs.get(d, -1), text] for (r, d), text in icsr.causality.items()
    )
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def split_narrative(text: str) -> tuple[str, dict[int, int]]:
    """H.1 read back: the narrative, and the CTCAE grades by reaction position when the
    narrative carries them as this product writes them."""
    narrative, grades = text, {}
    marker = text.rfind(GRADES_HEADING)
    if marker != -1:
        lines = text[marker + len(GRADES_HEADING) :].strip().splitlines()
        found = [GRADE_LINE.match(line.strip()) for line in lines]
        if lines and all(found):
            grades = {int(m.group(1)): int(m.group(3)) for m in found if m}
            narrative = text[:marker].strip()
    return narrative, grades


def estimated_grade(reaction: IcsrReaction) -> int:
    """A grade for a reaction whose ICSR gives none: fatal 5, life-threatening 4, any other
    seriousness 3, else 1."""
    if reaction.outcome == "5":
        return 5
    if "life_threatening" in reaction.seriousness or "death" in reaction.seriousness:
        return 4
    return 3 if reaction.seriousness else 1


def patient_reference(icsr: Icsr) -> str:
    """D.1 when it is a usable pseudonymous reference, else one made from C.1.1."""
    name = icsr.patient_name.strip()
    if name and not icsr.patient_null:
        try:
            PATIENT_REFERENCE(name)
            return name
        except Exception:  # noqa: S110 - an unusable D.1 takes a reference made from C.1.1
            pass
    digest = hashlib.sha256(icsr.safety_report_id.encode()).hexdigest()[:12].upper()
    return f"ICSR-{digest}"


def _causality(icsr: Icsr, reaction: IcsrReaction, drug: IcsrDrug | None) -> str:
    if drug is None:
        return ""
    text = icsr.causality.get((reaction.uid, drug.uid), "")
    return CAUSALITY_WORDS.get(" ".join(text.lower().split()), "")


def _route(text: str) -> str:
    if not text:
        return ""
    return ROUTE_WORDS.get(" ".join(text.lower().split()), "other")


def _closest_drugs(name: str) -> str:
    names = list(Drug.objects.values_list("name", flat=True))
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.4) or names[:3]
    return ", ".join(close) if close else "none (the formulary is empty)"


def _suspect_drug(name: str, new_drugs: bool, errors: list[str]) -> Drug | None:
    drug = drug_find(name)
    if drug is not None:
        return drug
    if new_drugs:
        try:
            return drug_get_or_create(name=name)
        except DrugNameError as exc:
            errors.append(f"The suspect drug {name!r} cannot be added: {exc}.")
            return None
    errors.append(
        f"Unknown suspect drug {name!r} (G.k.2.2). Closest drugs: {_closest_drugs(name)}. "
        "Add it to the formulary first, or import with --new-drugs."
    )
    return None


def _drug_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def _drug_input(drug: IcsrDrug) -> DrugInput:
    """A drug of the ICSR as the report keeps it, with its role beside the suspects (G.k.1
    = 2, 3 or 4) and what the ICSR says of its use, cut to the report's lengths."""
    return DrugInput(
        drug=drug.name[:200],
        dose=drug.dose[:100],
        route=_route(drug.route),
        therapy_start=drug.start,
        therapy_end=drug.end,
        lot_number=drug.lot_number[:50],
        role=ROLES.get(drug.role, DrugRole.CONCOMITANT),
    )


def _case_drugs(
    icsr: Icsr, new_drugs: bool, errors: list[str]
) -> tuple[Drug | None, IcsrDrug | None, list[DrugInput], list[DrugInput], list[str]]:
    """The drugs of an ICSR as a report keeps them: the first suspect (G.k.1 = 1), which
    must be a formulary drug (added with ``new_drugs``); the further suspects, matched to
    the formulary by name or brand (added with ``new_drugs``, else kept by name); and the
    other drugs (concomitant, interacting, not given), kept by name. A drug the ICSR names
    again (another course of it) is kept once, its first mention, and the repeats are
    returned as lines for the narrative."""
    suspects = [d for d in icsr.drugs if d.role == codes.ROLE_SUSPECT]
    if not suspects:
        errors.append("The case names no suspect drug (G.k.1 = 1).")
        return None, None, [], [], []
    first = _suspect_drug(suspects[0].name, new_drugs, errors)
    if first is None:
        return None, None, [], [], []
    seen = {_drug_key(suspects[0].name), _drug_key(first.name)}
    further: list[DrugInput] = []
    others: list[DrugInput] = []
    repeats: list[str] = []
    for position, drug in enumerate(icsr.drugs, start=1):
        if drug is suspects[0]:
            continue
        if not drug.name.strip():
            errors.append(f"Drug {position} of the case has no name (G.k.2.2).")
            continue
        suspect = drug.role == codes.ROLE_SUSPECT
        found = drug_find(drug.name) if suspect else None
        if suspect and found is None and new_drugs:
            found = _suspect_drug(drug.name, new_drugs, errors)
        keys = {_drug_key(drug.name)} | ({_drug_key(found.name)} if found is not None else set())
        if keys & seen:
            repeats.append(_repeat_line(drug))
            continue
        seen |= keys
        given = _drug_input(drug)
        if suspect:
            further.append(given)
        else:
            others.append(given)
    return first, suspects[0], further, others, repeats


def _repeat_line(drug: IcsrDrug) -> str:
    role = {"1": "suspect", "2": "concomitant", "3": "interacting", "4": "not given"}.get(
        drug.role, "role not given"
    )
    use = [
        part
        for part in (
            drug.dose,
            drug.route,
            f"from {drug.start or 'start not given'} to {drug.end or 'end not given'}"
            if drug.start or drug.end
            else "",
            f"lot {drug.lot_number}" if drug.lot_number else "",
        )
        if part
    ]
    return f"- {drug.name} ({role}{'; ' + ', '.join(use) if use else ''})"


def _reaction_inputs(
    icsr: Icsr, terms: dict[str, Term], suspect: IcsrDrug | None, grades: dict[int, int]
) -> list[ReactionInput]:
    inputs = []
    for i, reaction in enumerate(icsr.reactions, start=1):
        term = terms.get(reaction.code)
        words = reaction.verbatim or reaction.translation
        if term is None and not words:
            words = f"MedDRA {reaction.code}" if reaction.code else ""
        outcome = {
            "0": Outcome.UNKNOWN,
            "1": Outcome.RECOVERED,
            "2": Outcome.RECOVERING,
            "3": Outcome.NOT_RECOVERED,
            "4": Outcome.RECOVERED_WITH_SEQUELAE,
            "5": Outcome.FATAL,
        }.get(reaction.outcome, Outcome.UNKNOWN)
        grade = grades.get(i) or estimated_grade(reaction)
        if grade == 5 and outcome != Outcome.FATAL:
            grade = 4
        inputs.append(
            ReactionInput(
                term=term.name if term is not None else "",
                verbatim=words[:300],
                onset_date=reaction.onset,
                end_date=reaction.end,
                grade=grade,
                seriousness=list(reaction.seriousness),
                outcome=outcome,
                causality=_causality(icsr, reaction, suspect),
            )
        )
    return inputs


def _terms_by_code(cases: Sequence[Icsr]) -> dict[str, Term]:
    wanted = {r.code for icsr in cases for r in icsr.reactions if r.code}
    found: dict[str, Term] = {}
    terms = Term.objects.filter(
        Q(meddra_llt_code__in=wanted) | Q(meddra_code__in=wanted), is_group=False
    ).order_by("pk")
    for term in terms:
        for code in {term.meddra_llt_code, term.meddra_code} & wanted:
            found.setdefault(code, term)
    return found


def _refusals(icsr: Icsr) -> list[str]:
    errors = []
    if not icsr.safety_report_id:
        errors.append("C.1.1 (the sender's safety report id) is missing.")
    if not icsr.latest_information:
        errors.append("C.1.5 (the date of the most recent information) is missing.")
    name = icsr.patient_name.strip().upper()
    if name in AGGREGATE_NAMES or icsr.patient_null == "NA":
        errors.append(
            "This is an aggregate report (D.1 names no patient); only single-patient cases "
            "are imported."
        )
    if len(icsr.meddra_versions) > 1:
        versions = ", ".join(sorted(icsr.meddra_versions))
        errors.append(f"One MedDRA version per ICSR; this one uses {versions}.")
    if not icsr.reactions:
        errors.append("The case names no reaction (E.i).")
    if icsr.age_problem:
        errors.append(icsr.age_problem.capitalize() + ".")
    return errors


def _invalid(exc: ReportInvalid) -> list[str]:
    return [f"{path}: {message}" for path, messages in exc.errors.items() for message in messages]


@transaction.atomic
def icsr_import(
    *, data: bytes, actor: User, site: str = "", new_drugs: bool = False
) -> list[Imported]:
    """File each message of a batch as a report at the site (the account's, or the one
    named). C.1.1 is the key: the same content again changes nothing, a later C.1.5 is a
    follow-up, a nullification voids the report. Raises IcsrUnreadable or ImportRefused;
    either way nothing is saved."""
    cases = read_batch(data)
    terms = _terms_by_code(cases)
    results: list[Imported] = []
    errors: dict[str, list[str]] = {}
    for icsr in cases:
        problems = _refusals(icsr)
        result = None
        if not problems:
            try:
                result = _import_one(icsr, actor, site, new_drugs, terms, problems)
            except ReportInvalid as exc:
                problems.extend(_invalid(exc))
        if problems:
            errors.setdefault(icsr.label, []).extend(problems)
        elif result is not None:
            results.append(result)
    if errors:
        raise ImportRefused(errors)
    return results


def _import_one(
    icsr: Icsr,
    actor: User,
    site: str,
    new_drugs: bool,
    terms: dict[str, Term],
    errors: list[str],
) -> Imported | None:
    c11 = icsr.safety_report_id
    own = _own_report(c11)
    if own is not None:
        if actor.is_nurse and own.site_id != actor.site_id:
            errors.append("This case is another site's report; it was not imported.")
            return None
        return Imported(own, False, "unchanged", c11)
    received = ReceivedCase.objects.select_for_update().filter(safety_report_id=c11).first()
    if received is not None:
        return _update(icsr, received, actor, terms, errors)
    if icsr.nullification:
        errors.append(
            "The first version of a case received cannot be a nullification or an amendment "
            "(C.1.11.1; FDA R0101): there is no earlier version to change."
        )
        return None
    drug, first, further, others, repeats = _case_drugs(icsr, new_drugs, errors)
    if errors or drug is None or first is None:
        return None
    narrative, grades = split_narrative(icsr.narrative)
    if len(grades) != len(icsr.reactions):
        grades = {}
        narrative = f"{narrative}\n\n{ESTIMATED_GRADES}".strip()
    if icsr.report_type == "2":
        narrative = f"{narrative}\n\n{FROM_A_STUDY}".strip()
    if repeats:
        narrative = (f"{narrative}\n\n{NAMED_AGAIN}\n" + "\n".join(repeats)).strip()
    age = int(icsr.age) if icsr.age is not None else None
    data = ReportInput(
        patient=PatientInput(
            reference=patient_reference(icsr),
            age=age,
            sex={"1": "male", "2": "female"}.get(icsr.sex, "unknown"),
            weight_kg=_weight(icsr.weight_kg),
        ),
        drug=drug.name,
        therapy_start=first.start,
        therapy_end=first.end,
        dose=first.dose[:100],
        route=_route(first.route),
        lot_number=first.lot_number[:50],
        narrative=narrative,
        reporter_qualification=codes.QUALIFICATION_FROM_CODE.get(icsr.qualification, "other_hcp"),
        site=site,
        reactions=_reaction_inputs(icsr, terms, first, grades),
        other_suspect_drugs=further,
        concomitant_drugs=others,
    )
    report, _ = report_submit(reporter=actor, data=data, source=Source.IMPORT)
    report = Report.objects.get(pk=report.pk)
    ReceivedCase.objects.create(
        safety_report_id=c11,
        worldwide_id=icsr.worldwide_id[:100],
        report=report,
        latest_information=icsr.latest_information[:30],
        created=icsr.created[:30],
        content_hash=content_hash(icsr),
    )
    return Imported(report, True, "created", c11)


def _weight(value: str) -> Decimal | None:
    try:
        return Decimal(value).quantize(Decimal("0.1")) if value else None
    except InvalidOperation:
        return None


def _own_report(c11: str) -> Report | None:
    """A case this product sent (C.1.1 with our prefix) read back: the report it came from."""
    prefix = conf.case_id_prefix()
    if not c11.startswith(prefix):
        return None
    return Report.objects.filter(reference=c11[len(prefix) :]).first()


def _update(
    icsr: Icsr, received: ReceivedCase, actor: User, terms: dict[str, Term], errors: list[str]
) -> Imported | None:
    report = received.report
    c11 = received.safety_report_id
    if actor.is_nurse and report.site_id != actor.site_id:
        errors.append("This case was received for another site; it was not imported.")
        return None
    newer = (ts_key(icsr.latest_information), ts_key(icsr.created)) > (
        ts_key(received.latest_information),
        ts_key(received.created),
    )
    if icsr.nullification == "1":
        if not report.is_void:
            reason = icsr.nullification_reason or "Nullified by the sender (C.1.11)."
            report_void(actor=actor, report=report, reason=f"ICSR {c11} nullified: {reason}")
            received.nullified = True
            received.save(update_fields=["nullified", "updated_at"])
            return Imported(report, False, "nullified", c11)
        return Imported(report, False, "unchanged", c11)
    digest = content_hash(icsr)
    if digest == received.content_hash:
        return Imported(report, False, "unchanged", c11)
    if not newer:
        errors.append(
            f"This version (C.1.5 {icsr.latest_information}) differs from the one already "
            f"received (C.1.5 {received.latest_information}) but is not later: a changed "
            "case needs a later C.1.5."
        )
        return None
    if report.is_void:
        errors.append("The case is void here; a void case takes no follow-up.")
        return None
    narrative, grades = split_narrative(icsr.narrative)
    suspect = next((d for d in icsr.drugs if d.role == codes.ROLE_SUSPECT), None)
    incoming = _reaction_inputs(icsr, terms, suspect, grades)
    existing = list(report.reactions.select_related("term"))
    updates, new = [], []
    used: set[int] = set()
    for reaction in incoming:
        match = next(
            (
                r
                for r in existing
                if r.pk not in used
                and (
                    (reaction.term and r.term is not None and r.term.name == reaction.term)
                    or (reaction.verbatim and r.verbatim.casefold() == reaction.verbatim.casefold())
                )
            ),
            None,
        )
        if match is None:
            new.append(reaction)
            continue
        used.add(match.pk)
        if (reaction.outcome, reaction.end_date) != (match.outcome, match.end_date):
            updates.append(
                ReactionUpdate(match.pk, outcome=reaction.outcome, end_date=reaction.end_date)
            )
    addition = "" if narrative.strip() in report.narrative else narrative.strip()
    new_suspects = _new_suspects(icsr, report)
    if updates or new or addition or new_suspects:
        report_follow_up(
            actor=actor,
            report=report,
            data=FollowUpInput(
                updates=updates,
                new_reactions=new,
                narrative=addition,
                new_suspect_drugs=new_suspects,
            ),
        )
    received.latest_information = icsr.latest_information[:30]
    received.created = icsr.created[:30]
    received.content_hash = digest
    received.save(update_fields=["latest_information", "created", "content_hash", "updated_at"])
    report.refresh_from_db()
    return Imported(report, False, "follow_up", c11)


def _new_suspects(icsr: Icsr, report: Report) -> list[DrugInput]:
    """The suspect drugs (G.k.1 = 1) a later version of a case names that the report does
    not: matched to the formulary by name or brand, else kept by name."""
    named = {_drug_key(report.drug.name)}
    for other in report.other_drugs.select_related("drug"):
        named.add(_drug_key(other.name))
        if other.drug is not None:
            named.add(_drug_key(other.drug.name))
    added = []
    for drug in icsr.drugs:
        if drug.role != codes.ROLE_SUSPECT or not drug.name.strip():
            continue
        found = drug_find(drug.name)
        keys = {_drug_key(drug.name)} | ({_drug_key(found.name)} if found is not None else set())
        if keys & named:
            continue
        named |= keys
        added.append(_drug_input(drug))
    return added
