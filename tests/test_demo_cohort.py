from io import StringIO

import pytest
from django.core.management import call_command

from reports.models import Reaction
from surveillance.models import Signal

pytestmark = pytest.mark.django_db


def test_the_demo_cohort_raises_each_kind_of_signal_once(inotuzumab):
    out = StringIO()
    call_command("load_demo_cohort", stdout=out)
    assert "Demo cohort: 300 treated patients" in out.getvalue()
    kinds = set(Signal.objects.values_list("kind", flat=True))
    assert kinds == {"incidence", "severity", "unlisted"}
    assert Signal.objects.get(kind="severity").term.name == "Anaemia"
    # Febrile neutropenia's every labelled case was grade >= 3: one incidence signal only.
    [febrile] = Signal.objects.filter(term__name="Febrile neutropenia")
    assert febrile.kind == "incidence"
    retinal = Signal.objects.get(term__name="Retinal haemorrhage")
    assert (retinal.kind, retinal.priority) == ("unlisted", "high")
    assert "Haemorrhage (33%" in retinal.summary
    # Words the coder could not code wait for an officer; the demo says how many.
    assert "3 reactions in the nurses' words await coding" in out.getvalue()
    [words] = Reaction.objects.filter(verbatim="bleeding at the back of the eye")
    assert (str(words.term), words.coding) == ("Retinal haemorrhage", "auto")
    again = StringIO()
    call_command("load_demo_cohort", stdout=again)
    assert "already loaded" in again.getvalue()
