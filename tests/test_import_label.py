from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from reference.models import Drug, Label, LabelEntry

from .shared import DATA, SEED_LABEL, shared_file

pytestmark = pytest.mark.django_db


def run_import(path, drug, *extra):
    out, err = StringIO(), StringIO()
    call_command("import_label", str(path), "--drug", drug, *extra, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def professional(label):
    return {
        e.term.name: e
        for e in LabelEntry.objects.filter(label=label, section="professional")
        .select_related("term")
        .prefetch_related("covers")
    }


class TestSeedLabel:
    def test_the_shipped_label_is_loaded_by_migrate(self, inotuzumab):
        label = Label.objects.get(drug=inotuzumab, is_current=True)
        assert len(professional(label)) == 62
        assert inotuzumab.brand_names == ["Besponsa"]

    def test_importing_the_seed_page_gives_the_shipped_table(self, inotuzumab):
        out, _ = run_import(shared_file(SEED_LABEL), "inotuzumab ozogamicin")
        assert "62 professional entries (unchanged, current version kept)" in out
        assert Label.objects.filter(drug=inotuzumab).count() == 1

    def test_seed_figures(self, inotuzumab):
        entries = professional(Label.objects.get(drug=inotuzumab, is_current=True))
        thrombo = entries["Thrombocytopenia"]
        assert (thrombo.band, thrombo.incidence_pct, thrombo.grade3_pct) == (
            "very_common",
            Decimal("51"),
            Decimal("42"),
        )
        fn = entries["Febrile neutropenia"]
        assert (fn.incidence_pct, fn.grade3_pct) == (Decimal("26"), Decimal("26"))
        pancytopenia = entries["Pancytopenia"]
        assert pancytopenia.band == "common"
        assert {t.name for t in pancytopenia.covers.all()} == {
            "Bone marrow failure",
            "Febrile bone marrow aplasia",
        }
        assert entries["Tumour lysis syndrome"].band == "uncommon"
        for site in ("Upper gastrointestinal haemorrhage", "Lower gastrointestinal haemorrhage"):
            assert entries[site].band == "not_reported"
            assert entries[site].incidence_pct is None
        haemorrhage = entries["Haemorrhage"]
        assert haemorrhage.term.is_group and not haemorrhage.covers_members
        assert (haemorrhage.incidence_pct, haemorrhage.grade3_pct) == (Decimal("33"), Decimal("5"))
        infection = entries["Infection"]
        assert infection.term.is_group and infection.covers_members
        assert (infection.incidence_pct, infection.grade3_pct) == (Decimal("48"), Decimal("28"))
        headache = entries["Headache"]
        assert headache.incidence_pct == Decimal("28")
        assert headache.term.soc == "Nervous system disorders"

    def test_counts_per_band_and_unread_lines_are_printed(self):
        out, _ = run_import(shared_file(SEED_LABEL), "inotuzumab ozogamicin")
        assert "Very common (≥ 10%): 24" in out
        assert "Frequency not reported: 28" in out
        assert "not read, line 89 (heading): Nervous system" in out
        assert "13 line(s) not read" in out


class TestImport:
    def test_a_new_drug_gets_version_1(self):
        run_import(DATA / "examplumab.txt", "Examplumab")
        drug = Drug.objects.get(name="Examplumab")
        assert drug.slug == "examplumab"
        label = Label.objects.get(drug=drug)
        assert (label.version, label.is_current) == (1, True)
        entries = professional(label)
        assert set(entries) >= {"Nausea", "Thrombocytopenia", "Haemorrhage", "Infection"}
        assert entries["Haemorrhage"].grade3_pct == Decimal("0.5")
        assert "Upper gastrointestinal haemorrhage" in entries

    def test_reimporting_a_changed_label_makes_a_new_version_and_keeps_the_old(self, tmp_path):
        run_import(DATA / "examplumab.txt", "Examplumab")
        changed = tmp_path / "examplumab-v2.txt"
        changed.write_text(
            (DATA / "examplumab.txt").read_text().replace("Nausea (20%)", "Nausea (25%)")
        )
        out, _ = run_import(changed, "Examplumab")
        assert "new current version" in out
        labels = list(Label.objects.filter(drug__name="Examplumab").order_by("version"))
        assert [(lb.version, lb.is_current) for lb in labels] == [(1, False), (2, True)]
        assert professional(labels[0])["Nausea"].incidence_pct == Decimal("20")
        assert professional(labels[1])["Nausea"].incidence_pct == Decimal("25")

    def test_reimporting_the_same_label_changes_nothing(self):
        run_import(DATA / "examplumab.txt", "Examplumab")
        out, _ = run_import(DATA / "examplumab.txt", "Examplumab")
        assert "unchanged" in out
        assert Label.objects.filter(drug__name="Examplumab").count() == 1

    def test_an_uncodable_term_fails_lists_closest_terms_and_changes_nothing(self, tmp_path):
        run_import(DATA / "examplumab.txt", "Examplumab")
        bad = tmp_path / "bad.txt"
        bad.write_text(
            (DATA / "examplumab.txt")
            .read_text()
            .replace("Nausea (20%)", "Nausae (20%), Flibbertigibbet syndrome (3%)")
        )
        before = (Label.objects.count(), LabelEntry.objects.count())
        with pytest.raises(CommandError, match="nothing was changed"):
            err = StringIO()
            try:
                call_command(
                    "import_label", str(bad), "--drug", "Examplumab", stdout=StringIO(), stderr=err
                )
            finally:
                errors = err.getvalue()
        assert "'Nausae' is not a known term (closest: Nausea" in errors
        assert "'Flibbertigibbet syndrome' is not a known term" in errors
        assert (Label.objects.count(), LabelEntry.objects.count()) == before

    def test_a_grade3_figure_above_the_incidence_is_refused(self, tmp_path):
        bad = tmp_path / "bad.txt"
        bad.write_text(
            "For Healthcare Professionals\n"
            "Very common (10% or more): Nausea (20%) (30% of which were Grade 3 or higher)\n"
        )
        with pytest.raises(CommandError):
            run_import(bad, "Badumab")
        assert not Drug.objects.filter(name="Badumab").exists()

    def test_the_structured_format_round_trips(self, inotuzumab, tmp_path):
        out = StringIO()
        call_command("export_label", inotuzumab.slug, stdout=out)
        path = tmp_path / "label.json"
        path.write_text(out.getvalue())
        result, _ = run_import(path, "inotuzumab ozogamicin")
        assert "unchanged" in result

    def test_a_missing_file_is_a_clear_error(self, tmp_path):
        with pytest.raises(CommandError, match="cannot read"):
            run_import(tmp_path / "nope.txt", "X")
