"""What detection says: the summary of each kind of finding, and the methods table of a
disproportionality signal's page."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from reference.choices import Band
from reference.listedness import LabelListing, Listedness, listed_term
from reference.models import Drug, LabelEntry, Term

from .choices import Kind, RecommendedAction, ReviewStatus
from .findings import disproportionality_rule, min_cases, rounded


def label_test_summary(
    *,
    drug: Drug,
    entry: LabelEntry,
    kind: str,
    cases: int,
    exposed: int,
    expected_pct: float,
    source: str,
    ci_low_pct: float,
    ci_high_pct: float,
    p_value: float,
    met: bool,
) -> str:
    """An incidence or severity test against the label, with its verdict."""
    observed = 100.0 * cases / exposed
    name = listed_term(entry).name
    what = name if kind == Kind.INCIDENCE else f"Grade >= 3 {name}"
    labelled = (
        f"the labelled {pct(expected_pct)}%"
        if kind == Kind.SEVERITY or source == "label figure"
        else f"{pct(expected_pct)}%, the {source}"
    )
    verdict = "above" if met else "not significantly above"
    every_case_severe = (
        kind == Kind.INCIDENCE
        and entry.grade3_pct is not None
        and entry.grade3_pct == entry.incidence_pct
    )
    return (
        f"{what} in {cases} of {exposed} treated patients with {drug.name} "
        f"({pct(observed)}%, 95% CI {pct(ci_low_pct)}-{pct(ci_high_pct)}%), "
        f"{verdict} {labelled} (p {p_stated(p_value)})."
        + (
            " The label gives every case as grade >= 3: this test covers severity."
            if every_case_severe
            else ""
        )
    )


def unlisted_summary(
    *, drug: Drug, term: Term, decision: Listedness, cases: int, severe: bool
) -> str:
    """A reaction the label does not list, worded with the labelled group it belongs to."""
    return (
        f"{decision.explain(term, drug)} {patients(cases)}"
        f"{', at least one serious, grade >= 3 or fatal' if severe else ''}."
    )


@dataclass(frozen=True)
class Expected:
    """What the label leads a reader to expect of a term: its own figure (or its band's upper
    bound) when it has one, whether it is listed at all, and the words that go beside."""

    pct: float | None
    listed: bool
    context: str = ""


def expected_for(listing: LabelListing, term: Term) -> Expected:
    """The expected incidence of a term, said the same way on the drug page and on the
    signal pages. A bleeding site has no figure of the label's Haemorrhage group as its own:
    an unlisted site has none at all, and a named site with no frequency is tested against
    the group's figure (all sites together), which is said as such."""
    entry = listing.by_term.get(term.pk)
    if entry is None:
        decision = listing.assess(term)
        if decision.listed and decision.entry is not None:
            return Expected(None, True, f"listed under {listed_term(decision.entry).name}")
        group = decision.group_entry
        return Expected(None, False, group_context(group) if group else "not on the label")
    if term.is_group and not term.covers_members:
        expected, _ = listing.expected_incidence(entry)
        return Expected(_float(expected), True, "all sites together")
    if entry.incidence_pct is not None or entry.band != Band.NOT_REPORTED:
        expected, _ = listing.expected_incidence(entry)
        return Expected(_float(expected), True)
    group = listing.site_group(term.pk)
    if group is not None and group.incidence_pct is not None:
        context = group_context(group, grade3=False)
        return Expected(None, True, f"no figure of its own; tested against the {context}")
    return Expected(None, True, "frequency not reported")


def group_context(group: LabelEntry, *, grade3: bool = True) -> str:
    """A labelled group's figures as context for a site: "label's Haemorrhage group: 33% all
    sites, 5% grade >= 3"."""
    figures = []
    if group.incidence_pct is not None:
        figures.append(f"{pct(float(group.incidence_pct))}% all sites")
    if grade3 and group.grade3_pct is not None:
        figures.append(f"{pct(float(group.grade3_pct))}% grade >= 3")
    return f"label's {listed_term(group).name} group: {', '.join(figures) or 'no figure given'}"


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def disproportionality_summary(
    drug: Drug, term: Term, n: dict[str, Any], background: float | None, *, source: Any = None
) -> str:
    """A drug-event pair of a source's spontaneous reports: its 2x2 share and the four
    methods."""
    share = f"{pct(100.0 * n['a'] / (n['a'] + n['b']))}%"
    other = f" against {pct(background)}% of other drugs' reports" if background is not None else ""
    where = f" in {source}" if source is not None else ""
    return (
        f"{term.name} in {n['a']} of {n['a'] + n['b']} spontaneous reports with {drug.name}"
        f"{where} ({share}){other}: EBGM {figure(n['ebgm'])} (EB05 {figure(n['eb05'])}), "
        f"PRR {figure(n['prr'])} (chi-square {figure(n['chi2_yates'])}), "
        f"ROR {figure(n['ror'])} (95% CI {figure(n['ror_low'])}-{figure(n['ror_high'])}), "
        f"IC025 {figure(n['ic025'])}."
    )


@dataclass
class MethodRow:
    """One method's figures on a signal page."""

    method: str
    value: float | None
    low: float | None
    high: float | None
    interval: str
    rule: str
    met: bool
    chosen: bool


def disproportionality_table(numbers: dict[str, Any]) -> list[MethodRow]:
    """The four methods of a disproportionality signal, each with its own rule."""
    if not numbers:
        return []
    n_min = min_cases()
    rule, eb05_min = disproportionality_rule()
    chosen = numbers.get("rule", rule)
    met_by = numbers.get("met_by", {})
    methods = [
        ("mgps", "MGPS (EBGM)", "ebgm", "eb05", "eb95", "EB05-EB95", f"EB05 >= {eb05_min:g}"),
        (
            "prr",
            "PRR",
            "prr",
            "prr_low",
            "prr_high",
            "95% CI",
            f"PRR >= 2, Yates chi-square >= 4 (here {figure(numbers.get('chi2_yates'))}), "
            f"a >= {n_min}",
        ),
        ("ror", "ROR", "ror", "ror_low", "ror_high", "95% CI", f"lower bound > 1, a >= {n_min}"),
        ("ic", "IC", "ic", "ic025", "ic975", "IC025-IC975", "IC025 > 0"),
    ]
    return [
        MethodRow(
            label,
            numbers.get(value),
            numbers.get(low),
            numbers.get(high),
            interval,
            rule_text,
            bool(met_by.get(method)),
            chosen == method,
        )
        for method, label, value, low, high, interval, rule_text in methods
    ]


def figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"


# Signals store p and q values to 9 decimals; below that they read as a bound, not as 0.
SMALLEST_STORED_P = 1e-9


def p_figure(value: float | None) -> str:
    """A p or q value to 3 significant figures, formatted from the value as stored, so that
    a signal's summary and its page never round the same figure two ways."""
    if value is None:
        return "n/a"
    stored = rounded(float(value))
    return f"< {SMALLEST_STORED_P:.0e}" if stored < SMALLEST_STORED_P else f"{stored:.3g}"


def p_stated(value: float) -> str:
    """A p value after "p": "= 8.38e-05", or "< 1e-09"."""
    text = p_figure(value)
    return text if text.startswith("<") else f"= {text}"


def band_words(band: str | None) -> str:
    """A label's frequency band as a reader says it: "very common", "frequency not reported"."""
    if not band:
        return ""
    label = dict(Band.choices).get(band, band.replace("_", " "))
    return str(label).split(" (")[0].lower()


def signal_history_words(action: str, changes: dict[str, Any]) -> str:
    """An audited change to a signal in words: "Status: New → Under validation"."""
    statuses = dict(ReviewStatus.choices)
    parts: list[str] = []
    status = changes.get("status")
    if isinstance(status, list | tuple) and len(status) == 2:
        before, after = (statuses.get(str(s), str(s)) for s in status)
        what = "Reopened" if action == "signal.reopen" else "Status"
        parts.append(f"{what}: {before} → {after}")
    if "assigned_to" in changes:
        assigned = changes["assigned_to"]
        after = assigned[-1] if isinstance(assigned, list | tuple) and assigned else assigned
        parts.append(f"Assigned to {after}" if after else "Assignment removed")
    action_taken = changes.get("recommended_action")
    if action_taken:
        actions = dict(RecommendedAction.choices)
        parts.append(f"Recommended action: {actions.get(str(action_taken), action_taken)}")
    cases = changes.get("cases")
    if isinstance(cases, list | tuple) and len(cases) == 2:
        parts.append(f"Cases: {cases[0]} → {cases[1]}")
    if not parts:
        return action.split(".")[-1].replace("_", " ").capitalize()
    return "; ".join(parts)


def patients(n: int) -> str:
    return f"{n} patient{'s' if n != 1 else ''}"


def pct(value: float) -> str:
    text = f"{value:.1f}" if value >= 1 else f"{value:.2g}"
    return text[:-2] if text.endswith(".0") else text
