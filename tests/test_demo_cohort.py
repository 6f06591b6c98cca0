from io import StringIO

import pytest
from django.core.management import call_command

from surveillance.models import Signal

pytestmark = pytest.mark.django_db


def test_the_demo_cohort_raises_each_kind_of_signal_once(inotuzumab):
    out = StringIO()
    call_command("load_demo_cohort", stdout=out)
    assert "Demo cohort: 300 treated patients" in out.getvalue()
    kinds = set(Signal.objects.values_list("kind", flat=True))
    assert kinds == {"incidence", "severity", "unlisted"}
    retinal = Signal.objects.get(term__name="Retinal haemorrhage")
    assert (retinal.kind, retinal.priority) == ("unlisted", "high")
    assert "Haemorrhage (33%" in retinal.summary
    again = StringIO()
    call_command("load_demo_cohort", stdout=again)
    assert "already loaded" in again.getvalue()
