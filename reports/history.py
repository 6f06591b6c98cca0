"""A report's audit entries and saved versions in words: what happened, and what changed, field
by field."""

from collections.abc import Mapping
from datetime import date
from typing import Any

from django.utils.formats import date_format

from .choices import (
    Causality,
    Coding,
    DrugRole,
    DuplicateStatus,
    Listedness,
    Outcome,
    Route,
    Seriousness,
    Source,
)

ACTIONS = {
    "report.create": "Report filed",
    "report.follow_up": "Follow-up added",
    "report.void": "Report voided",
    "report.duplicate_decision": "Duplicate decision",
    "reaction.code": "Reaction coded",
    "reaction.recode": "Reaction recoded",
    "report.e2b_export": "Exported as an ICSR",
}

FIELDS = {
    "source": "Received through",
    "reactions": "Reactions",
    "added": "Reactions added",
    "updated": "Reactions updated",
    "expedited_due": "Expedited report due",
    "warnings": "Warnings",
    "version": "Version",
    "narrative_added": "Narrative",
    "is_void": "Void",
    "void_reason": "Reason",
    "duplicate_status": "Duplicate status",
    "duplicate_of": "Duplicate of",
    "outcome": "outcome",
    "end_date": "end date",
    "term": "term",
    "listedness": "on the label",
    "patient": "Patient",
    "drug": "Suspect drug",
    "therapy_start": "Therapy start",
    "therapy_end": "Therapy end",
    "narrative": "Narrative",
    "verbatim": "reporter's words",
    "onset_date": "onset",
    "grade": "grade",
    "seriousness": "seriousness",
    "causality": "causality",
    "coding": "coding",
    "other_drugs": "Other drugs",
    "added_drugs": "Suspect drugs added",
}

DRUG_LISTS = ("other_drugs", "added_drugs")

# Stored codes and the words a reader uses for them.
WORDS: dict[str, str] = {
    **dict(Source.choices),
    **dict(Listedness.choices),
    **dict(Outcome.choices),
    **{k: v for k, v in DuplicateStatus.choices if k},
    **dict(Coding.choices),
    **dict(Causality.choices),
    **dict(Seriousness.choices),
}


def action_words(action: str) -> str:
    return ACTIONS.get(action, action.replace("_", " ").replace(".", ": ").capitalize())


def _value(value: Any) -> str:
    if value is None or value == "":
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return WORDS.get(str(value), str(value))


def _reaction(item: Mapping[str, Any]) -> str:
    """One reaction of an audit entry: its term (or the reporter's words) and what changed."""
    term = item.get("term")
    verbatim = item.get("verbatim") or ""
    if isinstance(term, list) and len(term) == 2:
        before, after = term
        name = f"“{verbatim}”" if verbatim else _value(before)
        text = (
            f"{name} coded as {_value(after)}"
            if before is None
            else (f"{_value(before)} recoded as {_value(after)}")
        )
    else:
        text = _value(term) if term else f"“{verbatim}” (awaiting coding)"
    details = []
    if item.get("listedness"):
        details.append(_value(item["listedness"]).lower())
    for key in ("outcome", "end_date"):
        if key in item:
            details.append(f"{FIELDS[key]} {_change(item[key])}")
    return f"{text} ({', '.join(details)})" if details else text


def drug_words(item: Mapping[str, Any]) -> str:
    """A drug of the case in words: "Combimab (suspect; 2 mg, intravenous, lot L9)"."""
    role = str(dict(DrugRole.choices).get(item.get("role") or "", item.get("role") or ""))
    details = [role.lower()] if role else []
    if item.get("role") == DrugRole.SUSPECT and not item.get("drug"):
        details.append("not in the formulary")
    use = [str(item[key]) for key in ("dose",) if item.get(key)]
    if item.get("route"):
        use.append(str(dict(Route.choices).get(item["route"], item["route"])).lower())
    if item.get("lot_number"):
        use.append(f"lot {item['lot_number']}")
    if item.get("therapy_start") or item.get("therapy_end"):
        use.append(f"from {_date(item.get('therapy_start'))} to {_date(item.get('therapy_end'))}")
    if use:
        details.append(", ".join(use))
    return f"{item.get('name')} ({'; '.join(details)})" if details else str(item.get("name"))


def _change(value: Any) -> str:
    if isinstance(value, list) and len(value) == 2 and not any(isinstance(v, dict) for v in value):
        before, after = value
        return f"{_value(before)} → {_value(after)}"
    return _value(value)


def change_lines(changes: Mapping[str, Any]) -> list[str]:
    """An audit entry's changes as lines: "Reactions: Nausea (listed); Epistaxis (listed)"."""
    lines = []
    for key, value in changes.items():
        label = FIELDS.get(key, key.replace("_", " ").capitalize())
        if key in DRUG_LISTS and isinstance(value, list):
            if not value:
                continue
            text = "; ".join(drug_words(v) for v in value if isinstance(v, dict))
        elif isinstance(value, list) and any(isinstance(v, dict) for v in value):
            text = "; ".join(_reaction(v) for v in value if isinstance(v, dict))
        elif isinstance(value, list) and not value:
            continue
        elif isinstance(value, list) and key == "warnings":
            text = "; ".join(str(v) for v in value)
        elif key == "narrative_added":
            if not value:
                continue
            text = "new information added"
        elif value is None:
            continue
        else:
            text = _change(value)
        lines.append(f"{label[0].upper()}{label[1:]}: {text}")
    return lines


# A version's content (reports.services.reports.report_version_content) in words: the report's
# facts and reactions as they read in that version, and what changed from one version to the
# next. Contents saved before a key existed simply lack it.
VERSION_FACTS = ("patient", "drug", "therapy_start", "therapy_end", "expedited_due")
VOID_FACTS = ("is_void", "void_reason")
REACTION_FIELDS = (
    "term",
    "verbatim",
    "coding",
    "grade",
    "seriousness",
    "onset_date",
    "end_date",
    "outcome",
    "causality",
    "listedness",
)


def _content_value(key: str, value: Any) -> str:
    if key == "seriousness":
        return "; ".join(_value(v) for v in value) if value else "not serious"
    if key == "listedness" and not value:
        return _value(Coding.PENDING)
    if key == "causality" and not value:
        return "not assessed"
    if key == "expedited_due" and not value:
        return "not expedited"
    if key.endswith(("_date", "_start", "_end", "_due")):
        return _date(value)
    return _value(value)


def _date(value: Any) -> str:
    """A stored ISO date as the report page writes dates: "9 Oct 2026"."""
    if not value:
        return "not given"
    try:
        return date_format(date.fromisoformat(str(value)))
    except ValueError:
        return str(value)


def _label(key: str) -> str:
    label = FIELDS.get(key, key.replace("_", " "))
    return f"{label[0].upper()}{label[1:]}"


def _reaction_name(reaction: Mapping[str, Any]) -> str:
    verbatim = reaction.get("verbatim") or ""
    return str(reaction.get("term") or f"“{verbatim}”")


def version_facts(content: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The report's own fields in a version: (label, words) pairs."""
    facts = [(_label(key), _content_value(key, content.get(key))) for key in VERSION_FACTS]
    others = content.get("other_drugs") or []
    if others:
        facts.append((_label("other_drugs"), "; ".join(drug_words(d) for d in others)))
    if content.get("is_void"):
        facts.append((_label("is_void"), f"yes: {content.get('void_reason') or 'no reason given'}"))
    return facts


def version_reactions(content: Mapping[str, Any]) -> list[dict[str, str]]:
    """Each reaction of a version, every field in words, keyed by its content key, plus its
    name (the term, or the reporter's words while awaiting coding) and whether it had ended."""
    rows = []
    for reaction in content.get("reactions", []):
        row = {key: _content_value(key, reaction.get(key)) for key in REACTION_FIELDS}
        row["name"] = _reaction_name(reaction)
        row["verbatim"] = reaction.get("verbatim") or ""
        row["ended"] = "yes" if reaction.get("end_date") else ""
        rows.append(row)
    return rows


def _reaction_words(reaction: Mapping[str, Any]) -> str:
    details = [
        f"{FIELDS[key]} {_content_value(key, reaction.get(key))}"
        for key in ("grade", "seriousness", "outcome", "causality")
    ]
    listedness = _content_value("listedness", reaction.get("listedness")).lower()
    return f"{_reaction_name(reaction)} ({listedness}; {', '.join(details)})"


def _reaction_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> str | None:
    changed = [key for key in REACTION_FIELDS if before.get(key) != after.get(key)]
    if not changed:
        return None
    if "term" in changed:
        # The term and the reporter's words read together: "“wobbly” coded as Dizziness".
        head = _reaction(
            {"term": [before.get("term"), after.get("term")], "verbatim": after.get("verbatim")}
        )
        changed.remove("term")
    else:
        head = _reaction_name(after)
    parts = [
        f"{FIELDS[key]} {_content_value(key, before.get(key))} → "
        f"{_content_value(key, after.get(key))}"
        for key in changed
    ]
    return f"{head}: {'; '.join(parts)}" if parts else head


def version_differences(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """What changed from one version's content to the next, one line per field or reaction:
    "Therapy end: none → 2026-10-20", "Reaction added: Epistaxis (listed; grade 2, ...)"."""
    lines = []
    for key in VERSION_FACTS + VOID_FACTS:
        old, new = before.get(key), after.get(key)
        if key == "is_void":
            old, new = bool(old), bool(new)
        if old != new and (old or new):
            lines.append(f"{_label(key)}: {_content_value(key, old)} → {_content_value(key, new)}")
    old_drugs = {d.get("name"): d for d in before.get("other_drugs") or []}
    for drug in after.get("other_drugs") or []:
        if drug.get("name") not in old_drugs:
            lines.append(f"Drug added: {drug_words(drug)}")
    old_text, new_text = before.get("narrative") or "", after.get("narrative") or ""
    if old_text != new_text:
        if new_text.startswith(old_text):
            lines.append(f"{_label('narrative')}: added “{new_text[len(old_text) :].strip()}”")
        else:
            lines.append(f"{_label('narrative')}: “{old_text}” → “{new_text}”")
    old_reactions = {r.get("id"): r for r in before.get("reactions", [])}
    new_reactions = {r.get("id"): r for r in after.get("reactions", [])}
    for key, reaction in new_reactions.items():
        if key not in old_reactions:
            lines.append(f"Reaction added: {_reaction_words(reaction)}")
        else:
            change = _reaction_changes(old_reactions[key], reaction)
            if change:
                lines.append(change)
    for key, reaction in old_reactions.items():
        if key not in new_reactions:
            lines.append(f"Reaction removed: {_reaction_words(reaction)}")
    return lines
