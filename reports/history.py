"""A report's audit entries in words: what happened, and what changed, field by field."""

from collections.abc import Mapping
from typing import Any

from .choices import Coding, DuplicateStatus, Listedness, Outcome, Source

ACTIONS = {
    "report.create": "Report filed",
    "report.follow_up": "Follow-up added",
    "report.void": "Report voided",
    "report.duplicate_decision": "Duplicate decision",
    "reaction.code": "Reaction coded",
    "reaction.recode": "Reaction recoded",
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
}

# Stored codes and the words a reader uses for them.
WORDS: dict[str, str] = {
    **dict(Source.choices),
    **dict(Listedness.choices),
    **dict(Outcome.choices),
    **{k: v for k, v in DuplicateStatus.choices if k},
    **dict(Coding.choices),
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
        if isinstance(value, list) and any(isinstance(v, dict) for v in value):
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
