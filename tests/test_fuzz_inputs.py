"""Property-based fuzzing of what users upload: any text either imports or is refused with
its problems listed; nothing crashes and nothing is half-imported."""

import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reference.label_text import parse_label_text
from reference.models import Drug, Label, LabelEntry
from reference.services import LabelImportError, entries_from_parsed, label_import
from reports.models import Exposure, Patient
from spontaneous.models import CaseReport, CaseReportPair
from spontaneous.services import ReportImportError, reports_import

LABEL_WORDS = st.sampled_from(
    [
        "Very common (10% or more):",
        "Common (1% to 10%):",
        "Uncommon (0.1% to 1%):",
        "Frequency not reported:",
        "Nausea",
        "Headache (28%)",
        "(42% of which were Grade 3 or higher)",
        "Pancytopenia (e.g., bone marrow failure)",
        "upper/lower GI hemorrhage",
        "[Ref]",
        ",",
        "(",
        ")",
        "%",
        "Hemorrhage (33%)",
        "Flibbertigibbet",
        "For Healthcare Professionals",
        "For the Consumer",
        "  • nosebleeds",
        "\n",
        "é",
        "(all of which were Grade 3 or higher)",
    ]
)
LABEL_TEXT = st.lists(st.one_of(LABEL_WORDS, st.text(max_size=12)), max_size=40).map(" ".join)


@given(LABEL_TEXT)
@settings(max_examples=300, derandomize=True, deadline=None)
def test_the_label_reader_never_crashes(text):
    parsed = parse_label_text(text)
    for item in parsed.professional:
        assert item.verbatim.strip()
    for line in parsed.unread:
        assert line.reason


@pytest.mark.django_db
@given(LABEL_TEXT)
@settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
def test_a_label_imports_whole_or_not_at_all(text):
    labels, entries = Label.objects.count(), LabelEntry.objects.count()
    parsed = parse_label_text("For Healthcare Professionals\n" + text)
    try:
        result = label_import(
            drug_name="Fuzzumab", entries=entries_from_parsed(parsed), source="fuzz"
        )
    except LabelImportError:
        assert (Label.objects.count(), LabelEntry.objects.count()) == (labels, entries)
    else:
        assert LabelEntry.objects.filter(label=result.label).count() >= result.entries


CSV_CELLS = st.one_of(
    st.sampled_from(
        [
            "PT-1",
            "PT-2",
            "inotuzumab-ozogamicin",
            "2026-09-01",
            "01/09/2026",
            "",
            "intravenous",
            "teleport",
            "=SUM(A1)",
            "x" * 120,
            "Jane Doe",
            "é",
        ]
    ),
    st.text(max_size=10),
)
CSV_ROWS = st.lists(st.lists(CSV_CELLS, min_size=1, max_size=5), max_size=8)


@pytest.mark.django_db
@given(rows=CSV_ROWS, with_header=st.booleans())
@settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
def test_an_exposure_upload_registers_every_row_or_none(rows, with_header, client, nurse):
    client.force_login(nurse)
    header = "patient,drug,start_date,route\n" if with_header else ""
    body = header + "\n".join(
        ",".join(c.replace(",", " ").replace("\n", " ") for c in row) for row in rows
    )
    before = (Exposure.objects.count(), Patient.objects.count())
    upload = SimpleUploadedFile("x.csv", body.encode(), content_type="text/csv")
    response = client.post("/exposures/", {"csv-file": upload})
    assert response.status_code in {200, 302}
    if response.status_code == 200:
        assert (Exposure.objects.count(), Patient.objects.count()) == before


REPORT_CELLS = st.one_of(
    st.sampled_from(
        [
            "1",
            "2",
            "R-7",
            "inotuzumab ozogamicin",
            "BESPONSA",
            "Examplumab",
            "Nausea",
            "nosebleed",
            "Nausae",
            "Female",
            "M",
            "Martian",
            "",
            "x" * 300,
            "=HYPERLINK(1)",
        ]
    ),
    st.text(max_size=10),
)
HEADERS = st.sampled_from(
    [
        ["report_id", "drug", "event"],
        ["id", "var1", "var2", "strat1"],
        ["report", "product", "reaction", "sex"],
        ["report_id", "drug", "event", "sex"],
        ["drug", "event"],
        [],
    ]
)


SEX_OF = {"1": "Female", "2": "M", "R-7": ""}
GOOD_ROWS = st.tuples(
    st.sampled_from(sorted(SEX_OF)),
    st.sampled_from(["inotuzumab ozogamicin", "BESPONSA", "Examplumab"]),
    st.sampled_from(["Nausea", "nosebleed", "Retinal haemorrhage", "Brand new event"]),
).map(lambda row: [*row, SEX_OF[row[0]]])


@pytest.mark.django_db
@given(
    header=HEADERS,
    rows=st.one_of(
        st.lists(GOOD_ROWS, min_size=1, max_size=6),
        st.lists(st.one_of(GOOD_ROWS, st.lists(REPORT_CELLS, min_size=0, max_size=5)), max_size=8),
    ),
)
@settings(
    max_examples=80,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
def test_a_report_import_loads_every_row_or_none(header, rows):
    # Good rows are as wide as the header, as a CSV writer would make them.
    rows = [row[: len(header)] if len(row) == 4 else row for row in rows]
    drugs = Drug.objects.count()
    before = (CaseReport.objects.count(), CaseReportPair.objects.count())
    try:
        result = reports_import(
            rows=rows,
            header=header,
            source=uuid.uuid4().hex,
            file_name="fuzz.csv",
            sha256=uuid.uuid4().hex,
        )
    except ReportImportError as exc:
        assert exc.problems
        assert (CaseReport.objects.count(), CaseReportPair.objects.count()) == before
    else:
        batch = result.batch
        assert CaseReport.objects.filter(batch=batch).count() == batch.reports > 0
        assert CaseReportPair.objects.filter(report__batch=batch).count() == batch.pairs > 0
    # Whatever the file, the formulary gains no drug.
    assert Drug.objects.count() == drugs
