from dataclasses import dataclass, field

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from .choices import Band, Section
from .listedness import listed_term
from .models import Drug, LabelEntry
from .normalize import compact, normalize
from .selectors import drug_list, label_current, labels_superseded


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "reference/home.html", {"drugs": drug_list()})


@dataclass
class SocGroup:
    soc: str
    entries: list[LabelEntry] = field(default_factory=list)


_BAND_ORDER = {band: i for i, band in enumerate(Band.values)}


def label_detail(request: HttpRequest, slug: str) -> HttpResponse:
    drug = get_object_or_404(Drug, slug=slug)
    label = label_current(drug=drug)
    groups: dict[str, SocGroup] = {}
    lay: dict[int, list[str]] = {}
    awaiting_coding: list[LabelEntry] = []
    if label is not None:
        entries = list(label.entries.all())
        for entry in entries:
            if entry.section != Section.CONSUMER:
                continue
            if entry.term_id is None:
                awaiting_coding.append(entry)
            for term_id in [entry.term_id, *(t.pk for t in entry.covers.all())]:
                if term_id is not None:
                    lay.setdefault(term_id, []).append(entry.verbatim)
        professional = [(e, listed_term(e)) for e in entries if e.section == Section.PROFESSIONAL]
        professional.sort(
            key=lambda pair: (
                pair[1].soc,
                _BAND_ORDER[pair[0].band or Band.NOT_REPORTED],
                -(pair[0].incidence_pct or 0),
                pair[1].name,
            )
        )
        for entry, term in professional:
            groups.setdefault(term.soc, SocGroup(term.soc)).entries.append(entry)
            name_key = compact(normalize(term.name))
            entry.lay_wording = [  # type: ignore[attr-defined]
                phrase for phrase in lay.get(term.pk, []) if compact(normalize(phrase)) != name_key
            ]
            upper = entry.band_upper_pct
            entry.band_bar_pct = upper  # type: ignore[attr-defined]
    return render(
        request,
        "reference/label_detail.html",
        {
            "drug": drug,
            "label": label,
            "socs": sorted(groups.values(), key=lambda g: g.soc),
            "awaiting_coding": awaiting_coding,
            "older_labels": labels_superseded(drug=drug),
        },
    )
