import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from reference.listedness import listed_term
from reference.models import Drug, Label, LabelEntry

from .conftest import DATA
from .label_page import HEADING_LINE, shipped_label_page

pytestmark = pytest.mark.django_db


def run_import(path, drug, *extra):
    out, err = StringIO(), StringIO()
    call_command("import_label", str(path), "--drug", drug, *extra, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def professional(label):
    return {
        listed_term(e).name: e
        for e in LabelEntry.objects.filter(label=label, section="professional")
        .select_related("term")
        .prefetch_related("covers")
    }


class TestSeedLabel:
    def test_the_shipped_label_is_loaded_by_migrate(self, inotuzumab):
        label = Label.objects.get(drug=inotuzumab, is_current=True)
        assert len(professional(label)) == 62
        assert inotuzumab.brand_names == ["Besponsa"]

    def test_importing_the_seed_page_gives_the_shipped_table(self, inotuzumab, tmp_path):
        out, _ = run_import(shipped_label_page(tmp_path / "page.txt"), "inotuzumab ozogamicin")
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

    def test_counts_per_band_and_unread_lines_are_printed(self, tmp_path):
        page = shipped_label_page(tmp_path / "page.txt")
        out, _ = run_import(page, "inotuzumab ozogamicin")
        assert "Very common (≥ 10%): 24" in out
        assert "Common (1% to < 10%): 9" in out
        assert "Frequency not reported: 28" in out
        heading_at = page.read_text().splitlines().index(HEADING_LINE) + 1
        assert f"not read, line {heading_at} (heading): {HEADING_LINE}" in out
        # The title, the two "Applies to" lines, the consumer's "More common", the organ-class
        # heading and the reference.
        assert "6 line(s) not read" in out


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


def import_fails(path, drug, *extra):
    err = StringIO()
    with pytest.raises(CommandError) as info:
        call_command(
            "import_label", str(path), "--drug", drug, *extra, stdout=StringIO(), stderr=err
        )
    return str(info.value), err.getvalue()


def page(tmp_path, *lines, name="page.txt"):
    path = tmp_path / name
    path.write_text("For Healthcare Professionals\n" + "\n".join(lines) + "\n")
    return path


class TestDrugNames:
    @pytest.mark.parametrize(
        "name", ["inotuzumab-ozogamicin", "Besponsa", "  INOTUZUMAB   ozogamicin "]
    )
    def test_a_slug_brand_or_spacing_of_a_known_drug_is_that_drug(self, inotuzumab, name, tmp_path):
        out, _ = run_import(shipped_label_page(tmp_path / "page.txt"), name)
        assert "unchanged, current version kept" in out
        assert Drug.objects.count() == 1

    def test_a_trailing_space_is_not_a_new_drug(self):
        run_import(DATA / "examplumab.txt", "testdrug")
        out, _ = run_import(DATA / "examplumab.txt", "testdrug ")
        assert "unchanged" in out
        assert Drug.objects.filter(slug="testdrug").count() == 1

    @pytest.mark.parametrize("name", ["!!!", "???", "   "])
    def test_a_name_without_a_slug_is_refused(self, name):
        message, _ = import_fails(DATA / "examplumab.txt", name)
        assert "slug" in message or "name the drug" in message or "no name" in message
        assert not Drug.objects.exclude(slug="inotuzumab-ozogamicin").exists()

    def test_a_slug_collision_is_a_clear_error(self, inotuzumab):
        message, _ = import_fails(DATA / "examplumab.txt", "Inotuzumab ozogamicin!")
        assert "already used by the drug 'inotuzumab ozogamicin'" in message
        assert Drug.objects.count() == 1


class TestPagesReadInPart:
    @pytest.mark.parametrize(
        "line",
        [
            "Very common (10% or more): Nausea (31%",
            "Very common (10% or more): Nausea (31%) in adults",
            "Very common (10% or more): Nausea (all of which were Grade 3 or higher)",
            "Very common (10% or more): Nausea (3.1.2%)",
            "Very common (10% or more): Nausea (~20%)",
            "Very common (10% or more): Nausea (1,5%)",
        ],
    )
    def test_an_item_read_in_part_fails_the_import_and_changes_nothing(self, tmp_path, line):
        path = page(tmp_path, "Common (1% to 10%): Headache (5%)", line)
        message, err = import_fails(path, "Partumab")
        assert "nothing was changed" in message
        assert "line 3:" in err
        assert not Drug.objects.filter(name="Partumab").exists()

    def test_a_byte_order_mark_is_read(self, tmp_path):
        path = tmp_path / "bom.txt"
        path.write_bytes(
            "\ufeffFor Healthcare Professionals\nCommon (1% to 10%): Headache (5%)\n".encode()
        )
        out, _ = run_import(path, "Bomumab")
        assert "1 professional entries" in out and "0 line(s) not read" in out


class TestBandRanges:
    @pytest.mark.parametrize(
        "line",
        [
            "Common (1% to 10%): Nausea (31%)",
            "Very common (10% or more): Nausea (9%)",
            "Uncommon (0.1% to 1%): Nausea (2%)",
            "Rare: Nausea (0.5%)",
            "Very rare: Nausea (0.01%)",
            "Frequency not reported: Nausea (5%)",
        ],
    )
    def test_a_figure_outside_its_band_is_refused(self, tmp_path, line):
        _, err = import_fails(page(tmp_path, line), "Bandumab")
        assert "Nausea" in err
        assert not Drug.objects.filter(name="Bandumab").exists()

    @pytest.mark.parametrize(
        "line",
        [
            "Common (1% to 10%): Nausea (10%)",
            "Common (1% to 10%): Nausea (1%)",
            "Very common (10% or more): Nausea (10%)",
            "Uncommon (0.1% to 1%): Nausea (1%)",
            "Rare: Nausea (0.1%)",
            "Very rare: Nausea (0.005%)",
        ],
    )
    def test_a_figure_at_its_band_bounds_is_accepted(self, tmp_path, line):
        out, _ = run_import(page(tmp_path, line), "Bandumab")
        assert "new current version" in out


class TestStructuredValidation:
    def write(self, tmp_path, data):
        path = tmp_path / "label.json"
        path.write_text(json.dumps(data))
        return path

    def base(self):
        return {
            "drug": {"name": "Jsonumab", "slug": "jsonumab", "brand_names": []},
            "source": "test",
            "effective_date": "2026-01-01",
            "entries": [
                {"term": "Nausea", "section": "professional", "band": "very_common",
                 "incidence_pct": 20, "grade3_pct": None, "covers": []},
            ],
        }  # fmt: skip

    @pytest.mark.parametrize(
        ("change", "where"),
        [
            (lambda d: d.update(effective_date="2026-13-45"), "effective_date"),
            (lambda d: d["entries"][0].update(incidence_pct="abc"), "entries[0].incidence_pct"),
            (lambda d: d["entries"][0].update(incidence_pct=float("nan")), "incidence_pct"),
            (lambda d: d.update(drug="Jsonumab"), "drug"),
            (lambda d: d["entries"].append(None), "entries[1]"),
            (lambda d: d["entries"][0].update(term=5), "entries[0].term"),
            (lambda d: d["entries"][0].update(covers="Vomiting"), "entries[0].covers"),
            (lambda d: d["entries"][0].update(covers=[None]), "entries[0].covers"),
            (lambda d: d.update(entries={"term": "Nausea"}), "entries"),
        ],
    )
    def test_a_malformed_file_lists_its_problems_without_a_traceback(self, tmp_path, change, where):
        data = self.base()
        change(data)
        message, err = import_fails(self.write(tmp_path, data), "")
        assert where in message and where in err
        assert not Drug.objects.filter(name="Jsonumab").exists()

    def test_a_valid_file_imports(self, tmp_path):
        out, _ = run_import(self.write(tmp_path, self.base()), "Jsonumab")
        assert "new current version" in out

    def test_a_file_that_is_not_json_is_a_clear_error(self, tmp_path):
        path = tmp_path / "label.json"
        path.write_text("{not json")
        message, _ = import_fails(path, "X")
        assert "not JSON" in message


NEW_LAY_PHRASES = ("burning, numbness, or tingling in the hands or feet", "zorbly flibs")


def page_with_new_lay_phrases(tmp_path, phrases=NEW_LAY_PHRASES):
    page = shipped_label_page(tmp_path / "page.txt")
    bullets = "".join(f"  • {phrase}\n" for phrase in phrases)
    page.write_text(page.read_text().replace("More common\n", f"More common\n{bullets}", 1))
    return page


def consumer(label):
    return {
        e.verbatim: e
        for e in LabelEntry.objects.filter(label=label, section="consumer").select_related("term")
    }


class TestConsumerWordingAwaitingCoding:
    def test_a_seed_page_with_new_lay_phrases_imports_and_keeps_them(self, inotuzumab, tmp_path):
        page = page_with_new_lay_phrases(tmp_path)
        out, err = run_import(page, "inotuzumab ozogamicin")
        label = Label.objects.get(drug=inotuzumab, is_current=True)
        assert label.version == 2
        assert "62 professional entries (new current version)" in out
        assert len(professional(label)) == 62
        wording = consumer(label)
        assert set(NEW_LAY_PHRASES) <= set(wording)
        assert wording["zorbly flibs"].term is None
        assert wording["nosebleeds"].term is not None
        assert wording["nosebleeds"].term.name == "Epistaxis"
        uncoded = [e for e in wording.values() if e.term is None]
        line = page.read_text().splitlines().index("  • zorbly flibs") + 1
        assert f"awaits coding: line {line}: zorbly flibs" in out
        assert f"consumer wording: {len(wording)} ({len(uncoded)} awaiting coding" in out
        assert "uncodable" not in err

    def test_the_same_page_again_keeps_the_version(self, inotuzumab, tmp_path):
        page = page_with_new_lay_phrases(tmp_path)
        run_import(page, "inotuzumab ozogamicin")
        out, _ = run_import(page, "inotuzumab ozogamicin")
        assert "unchanged, current version kept" in out
        assert Label.objects.filter(drug=inotuzumab).count() == 2

    def test_uncoded_wording_lists_nothing(self, inotuzumab, tmp_path):
        from reference.listedness import LabelListing

        run_import(page_with_new_lay_phrases(tmp_path), "inotuzumab ozogamicin")
        listing = LabelListing.current(inotuzumab)
        assert None not in listing.by_term
        assert len(listing.by_term) == 62

    def test_an_unknown_professional_term_still_refuses_the_whole_page(self, tmp_path):
        page = page_with_new_lay_phrases(tmp_path)
        page.write_text(page.read_text().replace("Headache (28%)", "Zorbly syndrome (28%)"))
        before = (Label.objects.count(), LabelEntry.objects.count())
        message, err = import_fails(page, "inotuzumab ozogamicin")
        assert "nothing was changed" in message
        assert "'Zorbly syndrome' is not a known term" in err
        assert "zorbly flibs" not in err
        assert (Label.objects.count(), LabelEntry.objects.count()) == before

    def test_a_consumer_entry_that_names_an_unknown_term_is_refused(self, tmp_path):
        path = tmp_path / "label.json"
        path.write_text(
            json.dumps(
                {
                    "drug": {"name": "Jsonumab"},
                    "entries": [
                        {"term": "Nausea", "section": "professional", "band": "common"},
                        {"term": "Zorbly flibs", "verbatim": "zorbly", "section": "consumer"},
                    ],
                }
            )
        )
        _, err = import_fails(path, "")
        assert "'zorbly' is not a known term" in err
        assert not Drug.objects.filter(name="Jsonumab").exists()

    def test_wording_with_no_letter_is_left_out_with_a_note(self, inotuzumab, tmp_path):
        out, _ = run_import(page_with_new_lay_phrases(tmp_path, ["zorbly flibs", "***"]), "x")
        assert "'***' has no letter or digit, so it cannot name a term; not kept" in out
        assert "***" not in consumer(Label.objects.get(drug__name="x", is_current=True))

    def test_the_structured_format_round_trips_uncoded_wording(self, inotuzumab, tmp_path):
        run_import(page_with_new_lay_phrases(tmp_path), "inotuzumab ozogamicin")
        out = StringIO()
        call_command("export_label", inotuzumab.slug, stdout=out)
        exported = json.loads(out.getvalue())
        [zorbly] = [e for e in exported["entries"] if e["verbatim"] == "zorbly flibs"]
        assert (zorbly["term"], zorbly["section"]) == (None, "consumer")
        path = tmp_path / "label.json"
        path.write_text(out.getvalue())
        result, _ = run_import(path, "inotuzumab ozogamicin")
        assert "unchanged" in result
        assert "awaits coding: zorbly flibs" in result
