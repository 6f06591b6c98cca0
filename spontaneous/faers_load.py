"""Loading FAERS quarters into a spontaneous source, de-duplicated as FAERS users do it.

Across every quarter loaded, a case (``caseid``; legacy AERS cases ``"L" + case``, a key space
of their own) is kept in its highest ``caseversion``, ties going to the latest ``fda_dt``;
the same rule picks between two versions of a case within one quarter. A case a quarter's
DELETE list names loses its pairs and stays deleted: no quarter loaded later, older or newer,
brings it back. Loading a quarter again changes nothing.

A kept case is its suspect products (roles PS and SS unless told otherwise; the product named
by its active ingredient where FAERS gives one, else by the reported drug name) crossed with
its events (MedDRA preferred terms by name), each pair once, and its outcome codes.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

from reference.normalize import name_key

from .faers import CURRENT, Progress, Quarter, TableStats, deleted_cases, fda_date, table_batches
from .names import product_key

DEFAULT_ROLES = ("PS", "SS")
ROLES = ("PS", "SS", "C", "I")
SEXES = {"F": "female", "M": "male"}
MAX_NAME = 300


@dataclass(slots=True)
class CaseVersion:
    """The version of a case a quarter carries, with what it reports."""

    primaryid: str
    version: int
    fda_dt: date | None
    sex: str
    outcomes: list[str] = field(default_factory=list)
    products: list[int] = field(default_factory=list)  # indexes into QuarterData.products
    events: list[int] = field(default_factory=list)  # indexes into QuarterData.events

    def rank(self) -> tuple[int, date, int]:
        """Higher is kept: the version, then the FDA date, then the later report."""
        return (
            self.version,
            self.fda_dt or date.min,
            int(self.primaryid) if self.primaryid.isdigit() else 0,
        )


@dataclass
class QuarterData:
    """A quarter read whole into compact form, ready to be written."""

    quarter: Quarter
    roles: tuple[str, ...]
    cases: dict[str, CaseVersion] = field(default_factory=dict)
    products: list[tuple[str, str]] = field(default_factory=list)  # (key, name as reported)
    events: list[tuple[str, str]] = field(default_factory=list)
    deleted: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)


def roles_parse(text: str) -> tuple[str, ...]:
    """The drug roles given as "PS,SS"; raises ValueError naming an unknown role."""
    roles = tuple(dict.fromkeys(r.strip().upper() for r in text.split(",") if r.strip()))
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        raise ValueError(
            f"unknown drug role {', '.join(unknown) or '(none given)'}: the roles are "
            "PS (primary suspect), SS (secondary suspect), C (concomitant), I (interacting)"
        )
    return roles


def _clean(text: str) -> str:
    return " ".join(text.split())[:MAX_NAME]


class _Names:
    """Names interned by key: the first spelling met names the product or event."""

    def __init__(self, key: Callable[[str], str]) -> None:
        self.key = key
        self.items: list[tuple[str, str]] = []
        self.by_key: dict[str, int] = {}
        self.by_text: dict[str, int | None] = {}

    def index(self, text: str) -> int | None:
        found = self.by_text.get(text, -1)
        if found != -1:
            return found
        key = self.key(text)[:MAX_NAME]
        index: int | None = None
        if key:
            index = self.by_key.get(key)
            if index is None:
                index = self.by_key[key] = len(self.items)
                self.items.append((key, _clean(text)))
        self.by_text[text] = index
        return index


def quarter_read(
    quarter: Quarter,
    *,
    roles: Iterable[str] = DEFAULT_ROLES,
    progress: Progress | None = None,
) -> QuarterData:
    """Read a quarter's cases, keeping the best version of each case it carries."""
    roles = tuple(roles)
    wanted_roles = frozenset(roles)
    data = QuarterData(quarter=quarter, roles=roles)
    counts = data.counts
    cases = data.cases
    by_primaryid: dict[str, CaseVersion] = {}
    stats = {t: TableStats() for t in ("DEMO", "DRUG", "REAC", "OUTC")}
    legacy = quarter.layout != CURRENT
    dates: dict[str, date | None] = {}

    duplicates = 0
    for batch in table_batches(quarter, "DEMO", stats["DEMO"], progress):
        for primaryid, case_id, version, fda_dt, sex in batch:
            primaryid, case_id = primaryid.strip(), case_id.strip()
            if not primaryid or not case_id:
                continue
            day = dates.get(fda_dt, date.max)
            if day is date.max:
                day = dates[fda_dt] = fda_date(fda_dt)
            case = CaseVersion(
                primaryid=primaryid,
                version=int(version) if version.isdigit() else 0,
                fda_dt=day,
                sex=SEXES.get(sex.strip().upper(), "unknown"),
            )
            key = f"L{case_id}" if legacy else case_id
            other = cases.get(key)
            if other is not None:
                duplicates += 1
                if other.rank() >= case.rank():
                    continue
                del by_primaryid[other.primaryid]
            cases[key] = case
            by_primaryid[primaryid] = case
    counts["read"] = len(cases) + duplicates
    counts["duplicates"] = duplicates

    for batch in table_batches(quarter, "OUTC", stats["OUTC"], progress):
        for primaryid, code in batch:
            found = by_primaryid.get(primaryid)
            if found is not None:
                code = code.strip().upper()
                if code and code not in found.outcomes:
                    found.outcomes.append(code)

    products = _Names(product_key)
    product_of = products.by_text
    suspects = 0
    for batch in table_batches(quarter, "DRUG", stats["DRUG"], progress):
        for values in batch:
            role = values[1]
            if role not in wanted_roles and role.strip().upper() not in wanted_roles:
                continue
            found = by_primaryid.get(values[0])
            if found is None:
                continue
            # The active ingredient where FAERS gives one, else the drug name as reported.
            name = values[2] if legacy or not values[3] else values[3]
            index = product_of[name] if name in product_of else products.index(name)
            if index is None and name is not values[2]:
                index = products.index(values[2])
            if index is None:
                continue
            suspects += 1
            if index not in found.products:
                found.products.append(index)
    counts["suspect_rows"] = suspects

    events = _Names(name_key)
    event_of = events.by_text
    for batch in table_batches(quarter, "REAC", stats["REAC"], progress):
        for primaryid, pt in batch:
            found = by_primaryid.get(primaryid)
            if found is None:
                continue
            index = event_of[pt] if pt in event_of else events.index(pt)
            if index is not None and index not in found.events:
                found.events.append(index)

    data.products = products.items
    data.events = events.items
    data.deleted = deleted_cases(quarter)
    for table, stat in stats.items():
        counts[f"{table.lower()}_rows"] = stat.rows
    counts["malformed"] = sum(s.malformed for s in stats.values())
    return data
