"""The spontaneous sources page: officers see each source and its imports, upload FAERS
quarters and follow their import; the files are deleted when the import ends."""

import io
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from reference.models import Drug
from spontaneous.faers import FaersError
from spontaneous.import_runs import (
    BASELINE_STEP,
    PROGRESS_KEY,
    import_run_claim,
    import_run_execute,
    import_runs_sweep_stale,
)
from spontaneous.models import (
    CaseReport,
    DisproportionalityBaseline,
    ImportRun,
    ReportImport,
    Source,
)

from .conftest import DATA
from .faers_quarters import Case, quarter_write

pytestmark = pytest.mark.django_db

SAMPLE = DATA / "faers" / "faers_ascii_2017q2.zip"
URL = "/spontaneous/"


@pytest.fixture(autouse=True)
def uploads(settings, tmp_path: Path) -> Path:
    folder = tmp_path / "uploads"
    settings.SPONTANEOUS_UPLOAD_DIR = folder
    return folder


@pytest.fixture
def web(officer) -> Client:
    client = Client()
    client.force_login(officer)
    return client


def upload(path: Path, name: str | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name or path.name, path.read_bytes(), "application/zip")


def files_left(uploads: Path) -> list[Path]:
    return [p for p in uploads.rglob("*") if p.is_file()] if uploads.exists() else []


def post(web, capture_on_commit, *files, roles=("PS", "SS")):
    """The upload form sent; the import it queues runs in the request (no broker)."""
    with capture_on_commit(execute=True):
        return web.post(URL, {"quarters": list(files), "roles": list(roles)})


def test_nurses_are_refused_and_visitors_sent_to_sign_in(nurse):
    client = Client()
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    client.force_login(nurse)
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"quarters": [upload(SAMPLE)], "roles": ["PS"]}).status_code == 403
    assert not ImportRun.objects.exists()


def test_officers_see_the_page_in_their_navigation_with_nothing_imported(web):
    response = web.get(URL)
    assert response.status_code == 200
    text = response.content.decode()
    assert 'href="/spontaneous/">Sources</a>' in text
    assert "No source yet" in text
    assert "No import yet" in text
    # PS and SS are counted unless the officer says otherwise.
    form = response.context["form"]
    assert form["roles"].value() == ["PS", "SS"]


@pytest.mark.django_db(transaction=True)
def test_an_uploaded_quarter_is_imported_its_summary_shown_and_its_file_deleted(
    web, officer, uploads
):
    """Committed for real, as in production: the import runs once the upload's transaction
    has committed, within the request (no broker), and the officer is told how it ended."""
    Drug.objects.create(slug="risperidone", name="Risperidone", brand_names=["Risperdal"])
    response = web.post(URL, {"quarters": [upload(SAMPLE)], "roles": ["PS", "SS"]})
    run = ImportRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/spontaneous/?run={run.pk}#run-{run.pk}"
    # Without a broker the import ran in the request: it has finished.
    assert run.status == "succeeded", run.error
    assert run.requested_by == officer
    assert run.roles == "PS,SS"
    assert run.files_done == 1
    batch = ReportImport.objects.get()
    assert list(run.imports.all()) == [batch]
    assert batch.imported_by == officer
    assert batch.summary["quarter"] == "2017Q2"
    assert (batch.summary["read"], batch.summary["kept"]) == (100, 100)
    assert files_left(uploads) == []
    assert run.files_deleted_at is not None
    # The drug tables' baselines (every case, serious cases) are ready when the run ends.
    baselines = DisproportionalityBaseline.objects.filter(revision=batch.pk)
    assert sorted(b.method for b in baselines) == ["N*=1", "N*=1; serious"]

    page = web.get(response["Location"])
    text = page.content.decode()
    assert "Imported faers_ascii_2017q2.zip: 2017Q2 (faers_ascii_2017q2.zip): read 100" in text
    row = text[text.index(f'id="run-{run.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "Finished" in row and "1 of 1 file imported" in row
    assert "read 100, kept 100, superseded 0, deleted 0" in row
    assert "Uploaded files deleted." in row
    assert "data-progress-url" not in row  # nothing left to follow
    overview = page.context["sources"][0]
    assert overview.source.slug == "faers"
    assert overview.reports == CaseReport.objects.filter(deleted_by__isnull=True).count() == 100
    assert overview.products_linked == 1  # risperidone
    assert overview.events > overview.events_linked > 0
    assert overview.last_import == batch
    imports = text[text.index('id="imports"') :]
    assert f'id="import-{batch.pk}"' in imports
    assert "officer1" in imports and "read 100, kept 100, superseded 0, deleted 0" in imports
    assert "deleted: the reports are in the database" in text


def test_a_later_quarter_supersedes_and_deletes_and_an_earlier_upload_changes_nothing(
    web, tmp_path, django_capture_on_commit_callbacks
):
    drugs = [("PS", "ASPIRIN", "ASPIRIN")]
    q1 = quarter_write(
        tmp_path / "faers_ascii_2017q1.zip",
        [Case(1, 1, drugs=drugs, events=["Nausea"]), Case(2, 1, drugs=drugs, events=["Rash"])],
        quarter="17Q1",
    )
    q2 = quarter_write(
        tmp_path / "faers_ascii_2017q2.zip",
        [Case(1, 2, drugs=drugs, events=["Vomiting"]), Case(3, 1, drugs=drugs, events=["Rash"])],
        quarter="17Q2",
        deleted=[2],
    )
    # Both at once, the later first: imported oldest first all the same.
    post(web, django_capture_on_commit_callbacks, upload(q2), upload(q1))
    run = ImportRun.objects.get()
    assert run.status == "succeeded", run.error
    assert [r["quarter"] for r in run.results] == ["2017Q1", "2017Q2"]
    later = ReportImport.objects.get(summary__quarter="2017Q2")
    assert (later.summary["superseded"], later.summary["deleted"]) == (1, 1)
    text = web.get(URL).content.decode()
    assert "2 of 2 files imported" in text
    assert "2017Q2 (faers_ascii_2017q2.zip): read 2, kept 2, superseded 1, deleted 1" in text

    again = post(web, django_capture_on_commit_callbacks, upload(q1))
    assert again.status_code == 302
    second = ImportRun.objects.order_by("-pk")[0]
    assert second.status == "succeeded"
    assert second.results[0]["unchanged"] is True
    assert ReportImport.objects.count() == 2
    text = web.get(again["Location"]).content.decode()
    assert "2017Q1 (faers_ascii_2017q1.zip) was already imported on" in text
    assert "nothing changed" in text


def test_a_file_that_is_not_a_zip_is_a_form_error_and_nothing_is_kept(
    web, uploads, django_capture_on_commit_callbacks
):
    text_file = SimpleUploadedFile("demo17q2.txt", b"primaryid$caseid\n1$1\n", "text/plain")
    response = post(web, django_capture_on_commit_callbacks, text_file, roles=["PS", "C"])
    assert response.status_code == 400
    body = response.content.decode()
    assert "demo17q2.txt is not a zip file" in body
    assert 'role="alert"' in body
    # The page is kept, with the roles chosen.
    assert response.context["form"]["roles"].value() == ["PS", "C"]
    assert "Spontaneous sources" in body
    assert not ImportRun.objects.exists() and not ReportImport.objects.exists()
    assert files_left(uploads) == []


def test_a_zip_that_is_no_faers_quarter_is_refused_with_the_importers_words(
    web, uploads, django_capture_on_commit_callbacks
):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("holiday/photos.txt", "nothing here")
    bad = SimpleUploadedFile("faers_ascii_2099q1.zip", buffer.getvalue(), "application/zip")
    response = post(web, django_capture_on_commit_callbacks, bad)
    assert response.status_code == 400
    errors = response.context["form"].errors["quarters"]
    assert len(errors) == 1
    assert errors[0] == (
        "faers_ascii_2099q1.zip: nothing imported: no FAERS tables found (DEMOyyQq.txt, "
        "DRUGyyQq.txt, REACyyQq.txt, OUTCyyQq.txt)"
    )
    assert str(uploads) not in errors[0]
    assert not ImportRun.objects.exists()
    assert files_left(uploads) == []


def test_a_file_over_the_size_limit_is_refused(
    web, settings, uploads, django_capture_on_commit_callbacks
):
    settings.FAERS_UPLOAD_MAX_MB = 0
    response = post(web, django_capture_on_commit_callbacks, upload(SAMPLE))
    assert response.status_code == 400
    assert (
        "faers_ascii_2017q2.zip is 0 MB; files up to 0 MB are accepted."
        in (response.context["form"].errors["quarters"])
    )
    assert not ImportRun.objects.exists()


def test_no_file_or_no_role_is_a_form_error(web, django_capture_on_commit_callbacks):
    response = post(web, django_capture_on_commit_callbacks, roles=[])
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["quarters"] == ["Choose at least one FAERS quarterly zip file."]
    assert errors["roles"] == ["Choose at least one drug role (PS and SS are usual)."]


def test_a_quarter_that_fails_is_not_kept_the_ones_before_stay_and_the_run_says_why(
    web, uploads, tmp_path, monkeypatch, django_capture_on_commit_callbacks
):
    import spontaneous.import_runs as import_runs

    drugs = [("PS", "ASPIRIN", "ASPIRIN")]
    q1 = quarter_write(
        tmp_path / "q1.zip", [Case(1, 1, drugs=drugs, events=["Nausea"])], quarter="17Q1"
    )
    q2 = quarter_write(
        tmp_path / "q2.zip", [Case(2, 1, drugs=drugs, events=["Rash"])], quarter="17Q2"
    )
    real = import_runs.faers_import

    def failing_on_the_second(**kwargs):
        if kwargs["quarter"].label == "2017Q2":
            raise FaersError("DRUG17Q2.txt: line 2 has 3 fields where the header has 21")
        return real(**kwargs)

    monkeypatch.setattr(import_runs, "faers_import", failing_on_the_second)
    response = post(web, django_capture_on_commit_callbacks, upload(q1), upload(q2))
    run = ImportRun.objects.get()
    assert run.status == "failed"
    assert run.error == (
        "q2.zip (2017Q2): nothing imported from this file: "
        "DRUG17Q2.txt: line 2 has 3 fields where the header has 21"
    )
    assert [r["quarter"] for r in run.results] == ["2017Q1"]
    assert list(ReportImport.objects.values_list("summary__quarter", flat=True)) == ["2017Q1"]
    assert files_left(uploads) == []
    text = web.get(response["Location"]).content.decode()
    row = text[text.index(f'id="run-{run.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "Failed" in row and "1 of 2 files imported" in row
    assert "2017Q1 (q1.zip): read 1, kept 1" in row
    assert "q2.zip (2017Q2): nothing imported from this file: DRUG17Q2.txt: line 2" in row


def test_a_damaged_zip_imports_nothing_and_the_run_gives_the_importers_reason(
    web, uploads, tmp_path, django_capture_on_commit_callbacks
):
    """The zip's directory is intact, so the upload is accepted; its data is not."""
    data = bytearray(SAMPLE.read_bytes())
    for i in range(3000, 3200):
        data[i] ^= 0x55
    damaged = tmp_path / "faers_ascii_2017q2.zip"
    damaged.write_bytes(bytes(data))
    post(web, django_capture_on_commit_callbacks, upload(damaged))
    run = ImportRun.objects.get()
    assert run.status == "failed"
    assert run.error.startswith(
        "faers_ascii_2017q2.zip (2017Q2): nothing imported from this file: cannot read "
        "ascii/DEMO17Q2.txt of faers_ascii_2017q2.zip: "
    )
    assert str(uploads) not in run.error  # no server path shown
    assert not ReportImport.objects.exists() and not CaseReport.objects.exists()
    assert not Source.objects.filter(products__isnull=False).exists()
    assert files_left(uploads) == []


def test_a_run_whose_files_are_gone_fails_clearly(officer, uploads):
    run = ImportRun.objects.create(files=["faers_ascii_2017q2.zip"], folder="faers/gone")
    cache.set(PROGRESS_KEY.format(run.pk), {"step": "linking", "done": 1, "total": 2})
    assert import_run_claim(run.pk)
    assert cache.get(PROGRESS_KEY.format(run.pk)) is None  # another run's, long gone
    assert not import_run_claim(run.pk)  # a second delivery of the task takes nothing
    run = import_run_execute(run.pk)
    assert run.status == "failed"
    assert "the uploaded files are gone" in run.error
    assert not ReportImport.objects.exists()


def test_the_progress_endpoint_says_where_a_running_import_has_got_to(web, nurse):
    run = ImportRun.objects.create(
        files=["faers_ascii_2017q1.zip", "faers_ascii_2017q2.zip"],
        folder="faers/x",
        status="running",
        started_at=timezone.now() - timedelta(seconds=75),
        files_done=1,
    )
    cache.delete(PROGRESS_KEY.format(run.pk))  # Redis outlives the test database
    url = f"/spontaneous/runs/{run.pk}/progress/"
    answer = web.get(url).json()
    # The worker has written nothing yet: what the run's row knows.
    assert answer["status"] == "running" and answer["active"] is True
    assert answer["progress"] == "1 of 2 files imported"
    assert answer["total"] is None
    cache.set(
        PROGRESS_KEY.format(run.pk),
        {
            "file": "faers_ascii_2017q2.zip",
            "file_number": 2,
            "step": "reading DRUG",
            "done": 12_500_000,
            "total": 40_000_000,
        },
    )
    answer = web.get(url).json()
    assert answer == {
        "id": run.pk,
        "status": "running",
        "state": "Running",
        "active": True,
        "timing": answer["timing"],
        "progress": "faers_ascii_2017q2.zip (file 2 of 2): reading DRUG: 12.5 of 40.0 MB",
        "files_total": 2,
        "files_done": 1,
        "file": "faers_ascii_2017q2.zip",
        "step": "reading DRUG",
        "done": 12_500_000,
        "total": 40_000_000,
        "results": [],
        "error": "",
    }
    assert answer["timing"].endswith("running for 1 min 15 s")
    page = web.get(URL).content.decode()
    assert f'data-progress-url="{url}"' in page
    assert '<progress max="40000000" value="12500000"' in page
    # Both files in: the source's baselines are computed before the run says it is done.
    cache.set(
        PROGRESS_KEY.format(run.pk),
        {"file": "faers_ascii_2017q2.zip", "file_number": 0, "step": BASELINE_STEP, "done": 0},
    )
    assert web.get(url).json()["progress"] == "computing the disproportionality baseline"

    nurse_client = Client()
    nurse_client.force_login(nurse)
    assert nurse_client.get(url).status_code == 403
    assert Client().get(url).status_code == 302
    assert web.get(f"/spontaneous/runs/{run.pk + 1}/progress/").status_code == 404


def test_a_run_left_running_past_its_time_limit_is_failed_and_its_files_deleted(
    web, settings, uploads
):
    folder = uploads / "faers" / "stale"
    folder.mkdir(parents=True)
    (folder / "faers_ascii_2017q2.zip").write_bytes(SAMPLE.read_bytes())
    long_ago = timezone.now() - timedelta(seconds=settings.FAERS_IMPORT_TIME_LIMIT + 600)
    stale = ImportRun.objects.create(
        files=["faers_ascii_2017q2.zip"],
        folder="faers/stale",
        status="running",
        started_at=long_ago,
    )
    recent = ImportRun.objects.create(
        files=["b.zip"], folder="faers/recent", status="running", started_at=timezone.now()
    )
    text = web.get(URL).content.decode()
    stale.refresh_from_db()
    recent.refresh_from_db()
    assert stale.status == "failed" and "stopped without finishing" in stale.error
    assert recent.status == "running"
    assert files_left(uploads) == []
    assert "the quarter under way was not kept" in text
    assert import_runs_sweep_stale() == 0


def test_the_page_reads_the_sources_in_a_few_queries(
    web, tmp_path, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    drugs = [("PS", "ASPIRIN", "ASPIRIN")]
    for n in range(1, 4):
        path = quarter_write(
            tmp_path / f"q{n}.zip",
            [Case(n, 1, drugs=drugs, events=["Nausea"])],
            quarter=f"17Q{n}",
        )
        post(web, django_capture_on_commit_callbacks, upload(path))
    Source.objects.create(slug="regional", name="Regional database")
    with django_assert_max_num_queries(16):
        response = web.get(URL)
    assert response.status_code == 200
    assert [s.source.slug for s in response.context["sources"]] == ["faers", "regional"]
    assert response.context["sources"][1].reports == 0
