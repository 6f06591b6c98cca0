import re
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from reports.models import Reaction, SuspectReaction
from reports.services.reports import report_void
from surveillance.models import Signal
from surveillance.selectors import treated_patients
from surveillance.services import run_create, run_execute

from .browser import page, sign_in  # noqa: F401
from .cohort import Case, worked_scenario
from .test_browser_report_pages import nothing_cut_off

SCREENSHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"

GROUP_CONTEXT = "label's Haemorrhage group: 33% all sites, 5% grade >= 3"


@pytest.fixture
def signals(inotuzumab, nurse):
    cohort = worked_scenario(inotuzumab, nurse, nurse.site)
    run_execute(run_create(trigger="manual"))
    return cohort


@pytest.fixture
def officer_client(client: Client, officer):
    client.force_login(officer)
    return client


def drug_page(client: Client, drug) -> tuple[Any, str]:
    response = client.get(f"/surveillance/drugs/{drug.slug}/")
    assert response.status_code == 200
    return response.context, unescape(response.content.decode())


def row_of(html: str, name: str) -> str:
    """The table row whose header cell names the reaction."""
    match = re.search(rf"<tr><th scope=\"row\">(?:<a [^>]*>)?{name}<.*?</tr>", html, re.S)
    assert match, name
    return match.group(0)


def treated_words(html: str) -> str:
    match = re.search(r"\d+ treated patients[^<]*", html)
    assert match
    return match.group(0)


@pytest.mark.django_db
def test_it_shows_a_bleeding_site_the_label_does_not_name_as_unlisted_with_no_expected_figure(
    officer_client, signals, inotuzumab
):
    context, html = drug_page(officer_client, inotuzumab)
    retinal = next(u for u in context["unlisted"] if u.signal.term.name == "Retinal haemorrhage")
    assert retinal.expected.listed is False
    assert retinal.expected.pct is None
    row = row_of(html, "Retinal haemorrhage")
    assert "Unlisted</span> no expected incidence" in row
    assert GROUP_CONTEXT in row
    assert "33%" not in row.split(GROUP_CONTEXT)[0]


@pytest.mark.django_db
def test_a_named_site_with_no_frequency_has_no_figure_of_its_own(
    officer_client, signals, inotuzumab
):
    context, html = drug_page(officer_client, inotuzumab)
    entries = {e.term.name: e for e in context["entries"]}
    assert entries["Epistaxis"].expected_pct is None
    assert entries["Haemorrhage"].expected_pct == 33.0
    assert entries["Thrombocytopenia"].expected_pct == 51.0
    assert entries["Vaginal haemorrhage"].expected_pct == 10.0
    epistaxis = row_of(html, "Epistaxis")
    assert "no figure of its own; tested against the label's Haemorrhage group: 33% all sites" in (
        epistaxis
    )
    assert "all sites together" in row_of(html, "Haemorrhage")
    # The chart leaves out a site with neither a figure of its own nor a case.
    assert "Haemotympanum: observed" not in html


@pytest.mark.django_db
def test_the_signal_page_says_of_the_unlisted_site_what_the_drug_page_says(officer_client, signals):
    signal = Signal.objects.get(term__name="Retinal haemorrhage", kind="unlisted")
    html = unescape(officer_client.get(f"/surveillance/signals/{signal.pk}/").content.decode())
    expected = re.search(r"<dt>Expected \(label\)</dt><dd>(.*?)</dd>", html, re.S)
    assert expected
    assert "Unlisted</span> no expected incidence" in expected.group(1)
    assert GROUP_CONTEXT in expected.group(1)


@pytest.mark.django_db
def test_both_pages_read_one_cohort_after_the_last_case_of_a_signal_is_voided(
    officer_client, signals, inotuzumab, officer
):
    # A patient known only from a report, whose reaction raises a signal of its own...
    signals.register(1, from_report=True)
    report = signals.report(
        len(signals.patients), Case("Alopecia", grade=3, seriousness=["hospitalization"])
    )
    run_execute(run_create(trigger="manual"))
    assert treated_patients(inotuzumab.pk).at_last_run == 201
    # ...then the report is voided: the patient leaves the cohort and the signal its cases.
    report_void(actor=officer, report=report, reason="entered in error")
    run_execute(run_create(trigger="manual"))

    treated = treated_patients(inotuzumab.pk)
    assert (treated.at_last_run, treated.now) == (200, 200)
    against_label = Signal.objects.filter(drug=inotuzumab).exclude(kind="disproportionality")
    assert {s.exposed for s in against_label} == {200}
    alopecia = Signal.objects.get(term__name="Alopecia", kind="unlisted")
    assert (alopecia.cases, alopecia.met) == (0, False)

    _, html = drug_page(officer_client, inotuzumab)
    assert treated_words(html).startswith("200 treated patients, counted by the last detection")
    for signal in against_label:
        response = officer_client.get(f"/surveillance/signals/{signal.pk}/")
        assert response.context["treated"] == treated
        assert f"{signal.cases} of 200 treated patients at the last detection run" in (
            response.content.decode()
        )


@pytest.mark.django_db
def test_between_runs_both_pages_give_the_last_run_figure_and_the_figure_now(
    officer_client, signals, inotuzumab
):
    signals.register(1, from_report=True)
    signals.report(len(signals.patients), Case("Nausea"))
    # A report whose only words await coding adds no one until they are coded.
    signals.register(1, from_report=True)
    pending = signals.report(len(signals.patients), Case("Nausea"))
    Reaction.objects.filter(report=pending).update(
        term=None, coding="pending", listedness=None, counted=False
    )
    SuspectReaction.objects.filter(reaction__report=pending).update(
        term=None, listedness=None, counted=False
    )

    treated = treated_patients(inotuzumab.pk)
    assert (treated.at_last_run, treated.now) == (200, 201)
    _, html = drug_page(officer_client, inotuzumab)
    run_at = f"{treated.last_run_at:%Y-%m-%d %H:%M}"
    assert treated_words(html) == (
        f"200 treated patients at the last detection run ({run_at}), the figure the signals "
        "are read against; 201 now, counted at the next run."
    )
    signal = Signal.objects.get(term__name="Thrombocytopenia", kind="incidence")
    html = officer_client.get(f"/surveillance/signals/{signal.pk}/").content.decode()
    assert (
        f"{signal.cases} of 200 treated patients at the last detection run ({run_at})"
        '<span class="expected-context">201 now, counted at the next run</span>' in html
    )


@pytest.mark.django_db
def test_before_any_run_the_drug_page_says_no_run_has_counted_the_cohort(
    officer_client, inotuzumab, nurse
):
    worked_scenario(inotuzumab, nurse, nurse.site)
    _, html = drug_page(officer_client, inotuzumab)
    assert "200 treated patients now; no detection run has counted them yet." in html


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 800])
def test_an_officer_reads_the_drug_page_and_the_unlisted_site(
    page,  # noqa: F811
    live_server,
    officer,
    nurse,
    inotuzumab,
    width,
):
    cohort = worked_scenario(inotuzumab, nurse, nurse.site)
    cohort.report(196, Case("Epistaxis", grade=2))
    run_execute(run_create(trigger="manual"))
    cohort.register(1, from_report=True)
    cohort.report(len(cohort.patients), Case("Nausea"))
    page.set_viewport_size({"width": width, "height": 1000})
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    sign_in(page, live_server.url, "officer1", "correct-horse-battery")

    page.goto(f"{live_server.url}/surveillance/drugs/{inotuzumab.slug}/")
    lede = page.locator("p.lede").inner_text()
    assert lede.startswith("200 treated patients at the last detection run")
    assert "201 now, counted at the next run" in lede
    unlisted = page.locator("table.drug-unlisted tbody tr").first
    assert "Retinal haemorrhage" in unlisted.inner_text()
    assert "Unlisted" in unlisted.inner_text()
    assert "label's Haemorrhage group: 33% all sites" in unlisted.inner_text()
    epistaxis = page.locator("table.drug-labelled tr", has_text="Epistaxis")
    assert "no figure of its own" in epistaxis.inner_text()
    assert nothing_cut_off(page)
    page.screenshot(path=str(SCREENSHOTS / f"drug_page_{width}.png"), full_page=True)

    unlisted.get_by_role("link", name="Retinal haemorrhage").click()
    page.wait_for_url("**/surveillance/signals/*/")
    facts = page.locator("dl.facts").first.inner_text()
    assert "of 200 treated patients at the last detection run" in facts
    assert "201 now" in facts
    assert "label's Haemorrhage group: 33% all sites" in facts
    assert nothing_cut_off(page)
    page.screenshot(path=str(SCREENSHOTS / f"drug_signal_{width}.png"), full_page=True)


@pytest.mark.django_db
def test_the_page_title_is_words_and_the_spontaneous_section_shows_once(
    officer_client, signals, inotuzumab
):
    _, html = drug_page(officer_client, inotuzumab)
    title = html[html.index("<title>") + len("<title>") : html.index("</title>")]
    assert title == "inotuzumab ozogamicin: observed against the label · AE tracker"
    assert html.count("<h2>In spontaneous reports</h2>") == 1
