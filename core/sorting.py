"""Lists sorted by a column: the orderings a list offers, read from its ?sort= parameter
("grade" ascending, "-grade" descending), and the column headers that switch them."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import F, OrderBy
from django.http import QueryDict

Orderable = str | Any  # a field name ("-name" inverts it) or a query expression


@dataclass(frozen=True)
class SortKey:
    """A column a list can be sorted by: the fields it orders on, ascending, and the
    direction of the first click (the most telling one: highest grade, newest first)."""

    fields: tuple[Orderable, ...]
    descending_first: bool = False


@dataclass(frozen=True)
class SortHeader:
    """A column header's link and its state, for aria-sort and the arrow."""

    query: str
    direction: str  # "ascending", "descending" or "" when the list is not sorted by it

    @property
    def arrow(self) -> str:
        return {"ascending": "▲", "descending": "▼"}.get(self.direction, "")


def sort_read(value: str | None, keys: Mapping[str, SortKey]) -> tuple[str, bool] | None:
    """The column and direction asked for, or None (the list's own order) for anything else."""
    value = (value or "").strip()
    descending = value.startswith("-")
    key = value.removeprefix("-")
    return (key, descending) if key in keys else None


def sort_order(
    value: str | None, keys: Mapping[str, SortKey], tiebreak: Sequence[Orderable]
) -> list[Any]:
    """The ORDER BY of a sorted list: the column's fields, missing values last in either
    direction, then the list's own order so that equal rows keep a stable place."""
    chosen = sort_read(value, keys)
    if chosen is None:
        return list(tiebreak)
    key, descending = chosen
    return [_ordered(field, descending) for field in keys[key].fields] + list(tiebreak)


def _ordered(field: Orderable, descending: bool) -> OrderBy:
    if isinstance(field, str):
        inverted = field.startswith("-")
        expression: Any = F(field.removeprefix("-"))
        descending = descending != inverted
    else:
        expression = field
    if descending:
        return expression.desc(nulls_last=True)  # type: ignore[no-any-return]
    return expression.asc(nulls_last=True)  # type: ignore[no-any-return]


def sort_headers(
    value: str | None, keys: Mapping[str, SortKey], query: QueryDict
) -> dict[str, SortHeader]:
    """Each sortable column's header: a link that sorts by it (the other way round when the
    list is already sorted by it), back on the first page, with the other parameters kept."""
    chosen = sort_read(value, keys)
    headers = {}
    for key, sort_key in keys.items():
        if chosen is not None and chosen[0] == key:
            descending = chosen[1]
            direction = "descending" if descending else "ascending"
            descending = not descending
        else:
            descending, direction = sort_key.descending_first, ""
        link = query.copy()
        link.pop("page", None)
        link["sort"] = f"-{key}" if descending else key
        headers[key] = SortHeader(query=link.urlencode(), direction=direction)
    return headers


def page_query(query: QueryDict) -> str:
    """The list's parameters without its page number, for the pager's links."""
    query = query.copy()
    query.pop("page", None)
    return query.urlencode()
