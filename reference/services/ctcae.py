"""CTCAE grade criteria, loaded from NCI's CTCAE v5.0 file for display beside the grade."""

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction

from ..models import Term
from ..selectors import DrugNames as DrugNames
from ..selectors import drug_find as drug_find
from ..selectors import term_code, term_suggest


@dataclass
class CtcaeImportResult:
    rows: int
    created: int
    updated: int


class CtcaeImportError(Exception):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} row(s) could not be imported; nothing was changed")


CTCAE_COLUMNS = ("MedDRA Code", "CTCAE Term")


def _grade_column(fieldnames: Sequence[str], grade: int) -> str | None:
    return next((f for f in fieldnames if f.strip().lower().startswith(f"grade {grade}")), None)


@transaction.atomic
def ctcae_import(*, rows: Sequence[dict[str, str]], fieldnames: Sequence[str]) -> CtcaeImportResult:
    """Attach CTCAE grade criteria to the terms, all or nothing.

    Each row resolves to a term by its MedDRA code or by any of the term's names.
    """
    from ..models import CtcaeCriteria

    missing = [c for c in CTCAE_COLUMNS if c not in fieldnames]
    grade_columns = [_grade_column(fieldnames, g) for g in range(1, 6)]
    if missing or None in grade_columns:
        absent = missing + [f"Grade {g}" for g, c in enumerate(grade_columns, 1) if c is None]
        raise CtcaeImportError([f"missing column(s): {', '.join(absent)}"])

    by_code = {t.meddra_code: t for t in Term.objects.exclude(meddra_code="")}
    max_name = CtcaeCriteria._meta.get_field("ctcae_term").max_length or 200
    problems: list[str] = []
    resolved: list[tuple[Term, dict[str, str]]] = []
    for line_no, row in enumerate(rows, start=2):
        name = (row.get("CTCAE Term") or "").strip()
        code = (row.get("MedDRA Code") or "").strip()
        if not name:
            problems.append(f"line {line_no}: no CTCAE term")
            continue
        if any("\x00" in str(cell) for cell in row.values()):
            problems.append(f"line {line_no}: a cell holds a NUL character")
            continue
        if len(name) > max_name:
            problems.append(f"line {line_no}: the CTCAE term is longer than {max_name} characters")
            continue
        term = by_code.get(code) if code else None
        if term is None:
            found = term_code(name)
            term = found[0] if found else None
        if term is None:
            close = ", ".join(term_suggest(name)) or "no close terms"
            problems.append(f"line {line_no}: {name!r} is not a known term (closest: {close})")
            continue
        resolved.append((term, row))
    if problems:
        raise CtcaeImportError(problems)

    existing = {c.term_id: c for c in CtcaeCriteria.objects.all()}
    created = updated = 0
    for term, row in resolved:
        values = {
            "ctcae_term": row["CTCAE Term"].strip(),
            "definition": (row.get("Definition") or "").strip(),
            **{
                f"grade_{g}": _criterion(row.get(col or "", ""))
                for g, col in enumerate(grade_columns, start=1)
            },
        }
        criteria = existing.get(term.pk)
        if criteria is None:
            existing[term.pk] = CtcaeCriteria.objects.create(term=term, **values)
            created += 1
        elif any(getattr(criteria, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(criteria, k, v)
            criteria.save()
            updated += 1
    return CtcaeImportResult(rows=len(resolved), created=created, updated=updated)


def _criterion(text: str | None) -> str:
    value = (text or "").strip()
    return "" if value in {"-", "\u2013"} else value
