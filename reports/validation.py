"""The rules a report must meet, shared by the web form and the API.

Errors block the submission and are keyed by field (``patient.age``,
``reactions.1.term``); warnings are accepted and shown to officers.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.conf import settings

from accounts.models import Site, User
from reference.models import Drug, Term
from reference.normalize import keyless_message, name_key
from reference.search import TermIndex
from reference.selectors import drug_with_current_label, term_index

from .choices import (
    Causality,
    Coding,
    DrugRole,
    Outcome,
    Qualification,
    Route,
    Seriousness,
    Sex,
)
from .inputs import DrugInput, ReactionInput, ReportInput
from .models import NARRATIVE_MAX_LENGTH, PATIENT_REFERENCE

__all__ = [
    "EARLIEST_DATE",
    "NARRATIVE_MAX_LENGTH",
    "PATIENT_REFERENCE",
    "Checked",
    "CheckedDrug",
    "Coded",
    "Errors",
    "ReportInvalid",
    "check_report",
    "exposure_rows_over_limit",
]

ONSET_LONG_AFTER_START = timedelta(days=365)
EARLIEST_DATE = date(1900, 1, 1)


def exposure_rows_over_limit(count: int) -> str | None:
    """Why a batch of this many exposures is refused, or None: the web upload and the API
    share the one limit, settings.EXPOSURES_MAX_ROWS."""
    limit: int = settings.EXPOSURES_MAX_ROWS
    if count <= limit:
        return None
    return (
        f"At most {limit:,} exposures can be registered at once; this has {count:,}. "
        "Split them into several uploads."
    )


class ReportInvalid(Exception):
    """The submission breaks a rule; ``errors`` maps each field path to its messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))

    def nested(self) -> dict[str, Any]:
        """The errors as nested objects, the shape of the submitted body; list items are keyed
        by their index, as Django REST framework keys the errors of nested lists."""
        tree: dict[str, Any] = {}
        for path, messages in self.errors.items():
            node = tree
            *parents, leaf = path.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node.setdefault(leaf, []).extend(messages)
        return tree


@dataclass(frozen=True)
class Coded:
    """How one reaction of a submission is coded: its term and how it came to it, or no term
    (``coding`` pending) while the reporter's words wait for an officer."""

    term: Term | None
    coding: str
    note: str = ""


@dataclass(frozen=True)
class CheckedDrug:
    """A drug of a case beside the first suspect, with its formulary drug when it has one."""

    given: DrugInput
    role: str
    drug: Drug | None

    @property
    def name(self) -> str:
        return " ".join(self.given.drug.split())


@dataclass
class Checked:
    """A submission that passed: the resolved drug, site and coding of each reaction, the
    case's other drugs, and the warnings."""

    drug: Drug
    site: Site
    codings: list[Coded]
    qualification: str
    warnings: list[str] = field(default_factory=list)
    other_drugs: list[CheckedDrug] = field(default_factory=list)


class Errors:
    def __init__(self) -> None:
        self.found: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        self.found.setdefault(path, []).append(message)

    def raise_if_any(self) -> None:
        if self.found:
            raise ReportInvalid(self.found)


def code_terms(texts: Iterable[str], index: TermIndex | None = None) -> dict[str, Term | None]:
    """Code many names at once from the term index (given, or brought up to date here),
    with no query of its own.

    The terms come with their name, SOC and group flag, read from the index
    (which follows the reference revision); their other fields load on use.
    """
    if index is None:
        index = term_index()
    coded: dict[str, Term | None] = {}
    for text in texts:
        rows = index.exact(text)
        if not rows:
            coded[text] = None
            continue
        row = rows[0]
        coded[text] = _term_of(row.term_id, row.term_name, row.soc, row.is_group)
    return coded


def _term_of(row_id: int, name: str, soc: str, is_group: bool) -> Term:
    return Term.from_db("default", ["id", "name", "soc", "is_group"], [row_id, name, soc, is_group])


def autocode(verbatims: Iterable[str], index: TermIndex | None = None) -> dict[str, Coded]:
    """Code reporters' words with the coder: a term it is confident of (``auto``), else
    pending. No query of its own, like code_terms."""
    if index is None:
        index = term_index()
    found: dict[str, Coded] = {}
    for text in verbatims:
        if text in found:
            continue
        coded = index.code(text)
        found[text] = (
            Coded(None, Coding.PENDING)
            if coded is None
            else Coded(
                _term_of(coded.term_id, coded.name, coded.soc, coded.is_group),
                Coding.AUTO,
                coded.note,
            )
        )
    return found


def suggestions(index: TermIndex, text: str) -> str:
    close = [m.name for m in index.search(text, limit=5)]
    return f" Closest terms: {', '.join(close)}." if close else ""


def check_narrative(narrative: str, errors: Errors) -> None:
    if len(narrative) > NARRATIVE_MAX_LENGTH:
        errors.add(
            "narrative",
            f"At most {NARRATIVE_MAX_LENGTH:,} characters; this has {len(narrative):,}.",
        )


def check_report(*, data: ReportInput, reporter: User, today: date) -> Checked:
    """Check a new report against the minimum valid case and the domain rules."""
    errors = Errors()
    warnings: list[str] = []
    index = term_index()  # one query, for the revision; the terms come from memory

    patient = data.patient
    if patient is None or not patient.reference.strip():
        errors.add("patient.reference", "A pseudonymous patient reference is required.")
    else:
        try:
            PATIENT_REFERENCE(patient.reference.strip())
        except Exception as exc:  # Django's ValidationError carries the message
            errors.add("patient.reference", " ".join(getattr(exc, "messages", [str(exc)])))
        if patient.age is not None and not 0 <= patient.age <= 120:
            errors.add("patient.age", "Age must be between 0 and 120 years.")
        if patient.sex and patient.sex not in Sex.values:
            errors.add("patient.sex", f"Sex must be one of {', '.join(Sex.values)}.")
        if patient.weight_kg is not None and not 0 < patient.weight_kg <= 500:
            errors.add("patient.weight_kg", "Weight must be between 0 and 500 kg.")

    drug = None
    if not data.drug.strip():
        errors.add("drug", "The suspect drug is required.")
    else:
        drug = drug_with_current_label(data.drug.strip())
        if drug is None:
            known = ", ".join(Drug.objects.values_list("name", flat=True)[:10])
            errors.add("drug", f"Unknown drug {data.drug!r}. Known drugs: {known}.")

    site = site_for(reporter, data.site, errors)
    qualification = data.reporter_qualification or (
        Qualification.NURSE if reporter.is_nurse else Qualification.OTHER_HCP
    )
    if qualification not in Qualification.values:
        errors.add(
            "reporter_qualification",
            f"Qualification must be one of {', '.join(Qualification.values)}.",
        )
    if data.route and data.route not in Route.values:
        errors.add("route", f"Route must be one of {', '.join(Route.values)}.")
    check_narrative(data.narrative, errors)
    for name in ("therapy_start", "therapy_end"):
        value = getattr(data, name)
        if value is not None and value > today:
            errors.add(name, "This date is in the future.")
        elif value is not None and value < EARLIEST_DATE:
            errors.add(name, f"This date is before {EARLIEST_DATE:%Y}.")
    if data.therapy_start and data.therapy_end and data.therapy_end < data.therapy_start:
        errors.add("therapy_end", "Therapy cannot end before it starts.")

    if not data.reactions:
        errors.add("reactions", "At least one reaction is required.")
    codings = code_reactions(data.reactions, "reactions", errors, today, index)
    for i, reaction in enumerate(data.reactions):
        if reaction.onset_date and data.therapy_start:
            named = reaction.term.strip() or reaction.verbatim.strip()
            if reaction.onset_date < data.therapy_start:
                warnings.append(
                    f"Reaction {i + 1} ({named}): onset {reaction.onset_date} is before "
                    f"the therapy start {data.therapy_start}."
                )
            elif reaction.onset_date - data.therapy_start > ONSET_LONG_AFTER_START:
                warnings.append(
                    f"Reaction {i + 1} ({named}): onset {reaction.onset_date} is more "
                    f"than a year after the therapy start {data.therapy_start}."
                )
    other_drugs = check_other_drugs(
        data.other_suspect_drugs,
        data.concomitant_drugs,
        named=[drug.name] if drug is not None else [data.drug],
        prefix="",
        errors=errors,
        today=today,
    )
    errors.raise_if_any()
    assert drug is not None and site is not None
    return Checked(
        drug=drug,
        site=site,
        codings=codings,
        qualification=qualification,
        warnings=warnings,
        other_drugs=other_drugs,
    )


def check_other_drugs(
    suspects: list[DrugInput],
    concomitants: list[DrugInput],
    *,
    named: list[str],
    prefix: str,
    errors: Errors,
    today: date,
    suspects_key: str = "other_suspect_drugs",
) -> list[CheckedDrug]:
    """Check a case's further suspect drugs and its concomitant drugs. A suspect in the
    formulary (by slug, name or brand) is judged against its label; any other name is kept
    as given. The case names each drug once: ``named`` holds the drugs it names already."""
    seen = {_drug_key(name) for name in named}
    found: list[CheckedDrug] = []
    for key, role, items in (
        (suspects_key, DrugRole.SUSPECT, suspects),
        ("concomitant_drugs", DrugRole.CONCOMITANT, concomitants),
    ):
        for i, given in enumerate(items):
            path = f"{prefix}{key}.{i}"
            name = " ".join(given.drug.split())
            if not name:
                errors.add(f"{path}.drug", "Name the drug.")
                continue
            drug = drug_with_current_label(name) if role == DrugRole.SUSPECT else None
            keys = {_drug_key(name)} | ({_drug_key(drug.name)} if drug is not None else set())
            if keys & seen:
                errors.add(f"{path}.drug", f"The case names {name} already; name a drug once.")
                continue
            seen |= keys
            if given.route and given.route not in Route.values:
                errors.add(f"{path}.route", f"Route must be one of {', '.join(Route.values)}.")
            for field_name in ("therapy_start", "therapy_end"):
                value = getattr(given, field_name)
                if value is not None and value > today:
                    errors.add(f"{path}.{field_name}", "This date is in the future.")
                elif value is not None and value < EARLIEST_DATE:
                    errors.add(f"{path}.{field_name}", f"This date is before {EARLIEST_DATE:%Y}.")
            start, end = given.therapy_start, given.therapy_end
            if start and end and end < start:
                errors.add(f"{path}.therapy_end", "Therapy cannot end before it starts.")
            found.append(CheckedDrug(given=given, role=_role(role, given.role), drug=drug))
    return found


def _role(listed_as: str, given: str) -> str:
    """A suspect stays a suspect; a drug beside the suspects is concomitant unless it was
    given as interacting or not given."""
    if listed_as == DrugRole.CONCOMITANT and given in (
        DrugRole.INTERACTING,
        DrugRole.NOT_ADMINISTERED,
    ):
        return given
    return listed_as


def _drug_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def code_reactions(
    reactions: list[ReactionInput],
    prefix: str,
    errors: Errors,
    today: date,
    index: TermIndex | None = None,
) -> list[Coded]:
    """Check each reaction and code it: a term given must name one (the reporter chose it);
    the reporter's words alone are coded automatically when the coder is confident, and
    otherwise wait for an officer. The result has one entry per reaction when no error was
    added."""
    if index is None:
        index = term_index()
    coded = code_terms((r.term.strip() for r in reactions if r.term.strip()), index)
    auto = autocode(
        (r.verbatim.strip() for r in reactions if not r.term.strip() and r.verbatim.strip()),
        index,
    )
    codings: list[Coded] = []
    for i, reaction in enumerate(reactions):
        term = check_reaction(reaction, f"{prefix}.{i}", coded, errors, today)
        if term is not None:
            codings.append(Coded(term, Coding.AUTO))
        elif not reaction.term.strip() and reaction.verbatim.strip():
            codings.append(auto[reaction.verbatim.strip()])
    return codings


def check_reaction(
    reaction: ReactionInput,
    prefix: str,
    coded: dict[str, Term | None],
    errors: Errors,
    today: date,
) -> Term | None:
    term = None
    text = reaction.term.strip()
    if not text:
        verbatim = reaction.verbatim.strip()
        if not verbatim:
            errors.add(
                f"{prefix}.term",
                "Give the reaction: a term, or the reporter's words in verbatim.",
            )
        elif not name_key(verbatim):
            errors.add(f"{prefix}.verbatim", f"The reporter's words: {keyless_message(verbatim)}.")
    elif not name_key(text):
        errors.add(f"{prefix}.term", f"The term {keyless_message(text)}.")
    else:
        term = coded.get(text)
        if term is None:
            errors.add(
                f"{prefix}.term",
                f"Unknown term {text!r}.{suggestions(term_index(), text)}",
            )
        elif term.is_group:
            errors.add(
                f"{prefix}.term",
                f"{term.name} is a group; choose the specific reaction (for a bleed, its site).",
            )
            term = None
    if reaction.grade is None:
        errors.add(f"{prefix}.grade", "The CTCAE grade (1-5) is required.")
    elif not 1 <= reaction.grade <= 5:
        errors.add(f"{prefix}.grade", "The CTCAE grade must be between 1 and 5.")
    for criterion in reaction.seriousness:
        if criterion not in Seriousness.values:
            errors.add(
                f"{prefix}.seriousness",
                f"Unknown seriousness criterion {criterion!r}; "
                f"use {', '.join(Seriousness.values)}.",
            )
    if reaction.outcome and reaction.outcome not in Outcome.values:
        errors.add(f"{prefix}.outcome", f"Outcome must be one of {', '.join(Outcome.values)}.")
    if reaction.causality and reaction.causality not in Causality.values:
        errors.add(
            f"{prefix}.causality", f"Causality must be one of {', '.join(Causality.values)}."
        )
    if reaction.grade == 5 and reaction.outcome and reaction.outcome != Outcome.FATAL:
        errors.add(
            f"{prefix}.outcome",
            "Grade 5 means the reaction was fatal; the outcome must be fatal.",
        )
    check_dates(reaction.onset_date, reaction.end_date, prefix, errors, today)
    return term


def check_dates(
    onset: date | None, end: date | None, prefix: str, errors: Errors, today: date
) -> None:
    for name, value in (("onset_date", onset), ("end_date", end)):
        if value is not None and value > today:
            errors.add(f"{prefix}.{name}", "This date is in the future.")
        elif value is not None and value < EARLIEST_DATE:
            errors.add(f"{prefix}.{name}", f"This date is before {EARLIEST_DATE:%Y}.")
    if onset is not None and end is not None and end < onset:
        errors.add(f"{prefix}.end_date", "The reaction cannot end before its onset.")


def site_named(name: str) -> Site | None:
    """A site by its code, or by its name in any case."""
    return Site.objects.filter(code=name).first() or Site.objects.filter(name__iexact=name).first()


def site_for(reporter: User, requested: str, errors: Errors) -> Site | None:
    requested = requested.strip()
    if reporter.is_nurse:
        if reporter.site is None:
            errors.add("site", "Your account has no site; ask an administrator to set one.")
            return None
        if requested and requested not in {reporter.site.code, reporter.site.name}:
            errors.add("site", "You can report only for your own site.")
        return reporter.site
    if requested:
        site = site_named(requested)
        if site is None:
            errors.add("site", f"Unknown site {requested!r}.")
        return site
    if reporter.site is not None:
        return reporter.site
    errors.add("site", "Name the site the report comes from.")
    return None


def normalise_reaction(reaction: ReactionInput) -> tuple[list[str], str]:
    """Seriousness and outcome after the grade's implications: grade 5 is fatal and a death."""
    seriousness = list(dict.fromkeys(reaction.seriousness))
    outcome = reaction.outcome or Outcome.UNKNOWN
    if reaction.grade == 5:
        outcome = Outcome.FATAL
        if Seriousness.DEATH not in seriousness:
            seriousness.append(Seriousness.DEATH)
    return seriousness, outcome
