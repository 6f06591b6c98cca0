"""Coding the reporters' words that the coder could not code: the officers' queue.

Pending reactions are grouped by their normalised words. Coding a group gives every pending
reaction with those words the officer's term, judges its listedness and whether the report
becomes due to the regulator (from the date it was received), saves a new version of each
report, and teaches the terminology the words, so that the next report saying them is coded
automatically.
"""

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

from accounts.models import User
from audit.services import audit_record
from reference.choices import NameKind
from reference.models import LabelEntry, Term, TermName
from reference.normalize import keyless_message, name_key
from reference.search import Match
from reference.selectors import term_index, term_search
from reference.services import LabelWording, label_wording_code, label_wording_pending

from ..choices import Coding
from ..models import Reaction, Report, SuspectReaction
from ..validation import ReportInvalid, code_terms, suggestions
from .reactions import (
    Suspect,
    case_suspects,
    expedite_if_needed,
    flag_duplicates,
    reaction_code,
    reaction_name,
    suspect_others,
    suspect_rows_save,
)
from .reports import notify_on_commit, version_save


@dataclass
class PendingWords:
    """Words awaiting coding: every pending reaction that says them, and the labels whose
    consumer wording says them."""

    key: str
    verbatim: str
    writings: list[str]
    reactions: int = 0
    serious: int = 0
    drugs: list[str] = field(default_factory=list)
    reports: list[str] = field(default_factory=list)
    first_received: datetime | None = None
    label_drugs: list[str] = field(default_factory=list)
    suggestions: list[Match] = field(default_factory=list)


def coding_queue(*, suggest: int = 5) -> list[PendingWords]:
    """The pending words, serious ones first, then the longest waiting, then label wording
    no report has used."""
    pending = (
        Reaction.objects.filter(coding=Coding.PENDING)
        .select_related("report", "drug")
        .prefetch_related(
            Prefetch("per_drug", queryset=SuspectReaction.objects.select_related("drug"))
        )
        .order_by("report__received_at", "id")
    )
    groups: dict[str, list[Reaction]] = defaultdict(list)
    for reaction in pending:
        groups[name_key(reaction.verbatim)].append(reaction)
    wording: dict[str, list[LabelWording]] = defaultdict(list)
    for entry in label_wording_pending():
        wording[entry.key].append(entry)
    queue = []
    for key in [*groups, *(k for k in wording if k not in groups)]:
        reactions = groups.get(key, [])
        on_labels = wording.get(key, [])
        writings = Counter([r.verbatim for r in reactions] + [e.verbatim for e in on_labels])
        words = PendingWords(
            key=key,
            verbatim=writings.most_common(1)[0][0],
            writings=sorted(writings),
            reactions=len(reactions),
            serious=sum(r.serious for r in reactions),
            # Each formulary suspect drug of the cases, not only their first.
            drugs=sorted(
                {r.drug.name for r in reactions}
                | {row.drug.name for r in reactions for row in r.per_drug.all()}
            ),
            reports=list(dict.fromkeys(r.report.reference for r in reactions)),
            first_received=min((r.report.received_at for r in reactions), default=None),
            label_drugs=sorted({e.drug.name for e in on_labels}),
        )
        words.suggestions = term_search(q=words.verbatim, limit=suggest)
        queue.append(words)
    queue.sort(key=lambda w: (w.serious == 0, w.first_received is None, w.first_received, w.key))
    return queue


def coding_pending_count() -> tuple[int, int]:
    """How many reactions await coding, and how many of them are serious."""
    pending = Reaction.objects.filter(coding=Coding.PENDING)
    return pending.count(), pending.filter(serious=True).count()


def _officer_term(text: str, path: str = "term") -> Term:
    """The term an officer names: any name, synonym or lay phrase of one term, never a group."""
    text = text.strip()
    if not text:
        raise ReportInvalid({path: ["Name the term to code these words to."]})
    term = code_terms([text]).get(text)
    if term is None:
        raise ReportInvalid({path: [f"Unknown term {text!r}.{suggestions(term_index(), text)}"]})
    if term.is_group:
        message = f"{term.name} is a group; choose the specific reaction (for a bleed, its site)."
        raise ReportInvalid({path: [message]})
    return Term.objects.get(pk=term.pk)


@dataclass
class CodingResult:
    term: Term
    reactions: list[Reaction]
    reports: list[Report]
    label_entries: list[LabelEntry]
    learned: TermName | None

    @property
    def reaction_count(self) -> int:
        return len(self.reactions)

    @property
    def label_entry_count(self) -> int:
        return len(self.label_entries)

    @property
    def report_references(self) -> list[str]:
        return [r.reference for r in self.reports]


def coding_apply(*, actor: User, verbatim: str, term: str) -> CodingResult:
    """Code every pending reaction and uncoded label wording whose words are these (case,
    spacing, spelling aside) to the term, and learn the words as a name of it."""
    key = name_key(verbatim)
    if not key:
        raise ReportInvalid({"verbatim": [keyless_message(verbatim.strip())]})
    chosen = _officer_term(term)
    with transaction.atomic():
        pending = [
            r
            for r in Reaction.objects.select_for_update()
            .filter(coding=Coding.PENDING)
            .order_by("report_id", "id")
            if name_key(r.verbatim) == key
        ]
        on_labels = label_wording_code(key, chosen, actor)
        if not pending and not on_labels:
            message = f"No reaction or label wording awaits coding as {verbatim.strip()!r}."
            raise ReportInvalid({"verbatim": [message]})
        by_report: dict[int, list[Reaction]] = defaultdict(list)
        for reaction in pending:
            by_report[reaction.report_id].append(reaction)
        reports = [
            _report_code(actor, report_id, reactions, chosen, f"“{verbatim.strip()}”")
            for report_id, reactions in by_report.items()
        ]
        # The words as reporters wrote them, not as the officer typed them in.
        writings = Counter(r.verbatim for r in pending) or Counter([verbatim.strip()])
        learned = _learn(actor, writings.most_common(1)[0][0], key, chosen)
    return CodingResult(chosen, pending, reports, on_labels, learned)


def reaction_recode(
    *, actor: User, report: Report, reaction_id: int, term: str, comment: str = ""
) -> Report:
    """An officer's term for one reaction of a report, coded or awaiting coding; it teaches
    nothing (one case's words may mean something else in another)."""
    chosen = _officer_term(term)
    with transaction.atomic():
        # Locked alone: the term is read after (a nullable join cannot be locked).
        reaction = (
            Reaction.objects.select_for_update().filter(report=report, pk=reaction_id).first()
        )
        if reaction is None:
            raise ReportInvalid({"reaction_id": ["No such reaction on this report."]})
        if reaction.term_id == chosen.pk:
            raise ReportInvalid({"term": [f"The reaction is already coded {chosen.name}."]})
        before = reaction_name(reaction)
        return _report_code(
            actor, report.pk, [reaction], chosen, before, comment=comment.strip(), recode=True
        )


def _report_code(
    actor: User,
    report_id: int,
    reactions: list[Reaction],
    term: Term,
    words: str,
    *,
    comment: str = "",
    recode: bool = False,
) -> Report:
    report = Report.objects.select_for_update().select_related("drug", "patient").get(pk=report_id)
    others = suspect_others(report)
    suspects: dict[bool, list[Suspect]] = {}
    now = timezone.now()
    changes: list[dict[str, Any]] = []
    for reaction in reactions:
        # A reaction is judged against the labels it was reported under: the report's for
        # the first version, the ones in force at the follow-up that added it after that.
        at_intake = reaction.added_in_version == 1
        if at_intake not in suspects:
            suspects[at_intake] = case_suspects(report, others, at_intake=at_intake)
        before = reaction.term.name if reaction.term is not None else None
        reaction_code(reaction, term, suspects[at_intake], report)
        reaction.coding = Coding.OFFICER
        reaction.coding_note = (comment or f"Coded by {actor.get_username()}")[:300]
        reaction.coded_by = actor
        reaction.coded_at = now
        changes.append(
            {
                "reaction": reaction.pk,
                "verbatim": reaction.verbatim,
                "term": [before, term.name],
                "listedness": reaction.listedness,
            }
        )
    Reaction.objects.bulk_update(
        reactions,
        [
            "term",
            "counted",
            "listedness",
            "listed_by",
            "listedness_note",
            "coding",
            "coding_note",
            "coded_by",
            "coded_at",
        ],
    )
    for at_intake, judged_by in suspects.items():
        suspect_rows_save(
            [r for r in reactions if (r.added_in_version == 1) == at_intake], judged_by
        )
    # The 15-day clock runs from the day the report was received, not from its coding.
    expedite_if_needed(report, reactions, timezone.localdate(report.received_at))
    # The labels differ between intake and follow-ups, the drugs do not.
    flag_duplicates(report, reactions, next(iter(suspects.values())))
    report.version += 1
    report.save()
    verb = "Recoded" if recode else "Coded"
    version_save(
        report,
        actor,
        f"{verb} {words} as {term.name}",
        list(report.reactions.select_related("term").order_by("id")),
    )
    audit_record(
        actor=actor,
        action="reaction.recode" if recode else "reaction.code",
        target=report,
        changes={
            "version": report.version,
            "reactions": changes,
            "expedited_due": str(report.expedited_due) if report.expedited else None,
        },
        comment=comment,
    )
    notify_on_commit(report)
    return report


def _learn(actor: User, text: str, key: str, term: Term) -> TermName | None:
    """The words become a learned name of the term, unless the term has them already."""
    if TermName.objects.filter(term=term, key=key).exists():
        return None
    name = TermName(
        term=term, text=text[:200], kind=NameKind.LEARNED, added_by=actor, added_at=timezone.now()
    )
    name.save()
    audit_record(
        actor=actor,
        action="term_name.learn",
        target=name,
        changes={"term": term.name, "text": name.text, "kind": name.kind},
    )
    return name


def reactions_pending(reports: Iterable[Report]) -> dict[int, int]:
    """How many reactions of each report await coding."""
    counts = Counter(
        Reaction.objects.filter(report__in=list(reports), coding=Coding.PENDING).values_list(
            "report_id", flat=True
        )
    )
    return dict(counts)
