"""Many signals at once, for the dashboard's query-count test and its benchmark."""

import random

from django.utils import timezone

from reference.models import Drug, Term
from surveillance.models import Signal

KINDS = ["incidence", "severity", "unlisted"]


def make_signals(count: int, seed: int = 5) -> int:
    rng = random.Random(seed)
    terms = list(Term.objects.filter(is_group=False).order_by("pk")[:900])
    drugs = list(Drug.objects.order_by("pk"))
    needed = -(-count // (len(terms) * len(KINDS)))
    for i in range(len(drugs), needed):
        drugs.append(Drug.objects.create(slug=f"signalmab-{i}", name=f"signalmab {i}"))
    now = timezone.now()
    rows: list[Signal] = []
    for drug in drugs:
        for term in terms:
            for kind in KINDS:
                if len(rows) == count:
                    break
                exposed = rng.randint(100, 1000)
                cases = rng.randint(1, exposed // 4)
                rows.append(
                    Signal(
                        drug=drug,
                        term=term,
                        kind=kind,
                        priority=rng.choice(["high", "medium", "medium", "low"]),
                        met=rng.random() < 0.8,
                        status=rng.choice(["new", "new", "under_validation", "validated"]),
                        summary=f"{term.name} in {cases} of {exposed} treated patients.",
                        cases=cases,
                        exposed=exposed,
                        observed_pct=100 * cases / exposed,
                        expected_pct=None if kind == "unlisted" else 5.0,
                        p_value=None if kind == "unlisted" else rng.random() / 10,
                        q_value=None if kind == "unlisted" else rng.random() / 5,
                        first_detected_at=now,
                        last_evaluated_at=now,
                    )
                )
    Signal.objects.bulk_create(rows, batch_size=1000)
    return len(rows)
