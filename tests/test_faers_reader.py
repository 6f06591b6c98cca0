"""Reading FAERS quarters as FDA publishes them (no database)."""

import zipfile
from datetime import date

import pytest

from spontaneous.faers import (
    CURRENT,
    LEGACY,
    FaersError,
    TableStats,
    deleted_cases,
    quarter_open,
    table_rows,
)
from spontaneous.faers_load import quarter_read, roles_parse

from .conftest import DATA
from .faers_quarters import Case, quarter_write

SAMPLES = DATA / "faers"


def test_the_current_layout_sample_is_read_whole():
    quarter = quarter_open(SAMPLES / "faers_ascii_2017q2.zip")
    assert (quarter.label, quarter.layout) == ("2017Q2", CURRENT)
    data = quarter_read(quarter)
    assert data.counts["read"] == 100
    assert len(data.cases) == 100
    assert data.counts["drug_rows"] == 328
    assert data.counts["reac_rows"] == 286
    assert data.counts["malformed"] == 0
    case = data.cases["10979236"]
    assert (case.version, case.fda_dt, case.sex) == (4, date(2017, 4, 6), "male")
    assert [data.products[i][1] for i in case.products] == ["RISPERIDONE"]  # prod_ai
    assert [data.events[i][1] for i in case.events] == [
        "Abnormal weight gain",
        "Emotional distress",
        "Gynaecomastia",
    ]
    assert data.cases["11144077"].outcomes == ["OT"]


def test_the_legacy_sample_is_read_in_its_own_key_space():
    quarter = quarter_open(SAMPLES / "aers_ascii_2004q1.zip")
    assert (quarter.label, quarter.layout) == ("2004Q1", LEGACY)
    data = quarter_read(quarter)
    assert len(data.cases) == 100
    assert all(key.startswith("L") for key in data.cases)
    case = data.cases["L4061110"]
    assert case.primaryid == "4263742"
    # Legacy drugs are named by drugname (there is no prod_ai); PS and SS only.
    assert [data.products[i][1] for i in case.products] == [
        "TAVOR",
        "ALCOHOL",
        "CITALOPRAM",
        "ZYPREXA",
    ]
    assert case.outcomes == ["HO"]


def test_upper_case_names_in_an_ascii_folder_with_crlf_lines(tmp_path):
    cases = [Case(1001, drugs=[("PS", "Drugone", "DRUGONE")], events=["Nausea"])]
    path = quarter_write(
        tmp_path / "faers_ascii_2024Q1.zip",
        cases,
        quarter="24Q1",
        crlf=True,
        upper=True,
        folder="ASCII",
        deleted=[77, 78],
    )
    assert "ASCII/DEMO24Q1.TXT" in zipfile.ZipFile(path).namelist()
    quarter = quarter_open(path)
    assert quarter.label == "2024Q1"
    data = quarter_read(quarter)
    assert data.events == [("nausea", "Nausea")]  # no "\r" left on the last column
    assert data.products == [("drugone", "DRUGONE")]
    assert data.deleted == {"77", "78"}


def test_a_folder_is_read_like_a_zip(tmp_path):
    cases = [Case(1001, drugs=[("PS", "Drugone", "")], events=["Nausea"], outcomes=["DE"])]
    folder = tmp_path / "q"
    folder.mkdir()
    quarter_write(folder, cases, as_zip=False, upper=True, folder="")
    data = quarter_read(quarter_open(folder))
    assert data.cases["1001"].outcomes == ["DE"]
    # No active ingredient given: the drug name names the product.
    assert data.products == [("drugone", "Drugone")]


def test_the_folder_digest_follows_the_contents(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    for folder, event in ((one, "Nausea"), (two, "Vomiting")):
        folder.mkdir()
        quarter_write(folder, [Case(1, events=[event])], as_zip=False)
    assert quarter_open(one).sha256 == quarter_open(one).sha256
    assert quarter_open(one).sha256 != quarter_open(two).sha256


def test_two_versions_of_a_case_in_one_quarter_keep_the_higher(tmp_path):
    cases = [
        Case(5, version=3, events=["Nausea"]),
        Case(5, version=2, events=["Rash"]),
        Case(6, version=1, fda_dt="20170401", events=["Rash"]),
        Case(6, version=1, fda_dt="20170405", events=["Fatigue"]),
    ]
    cases[3].sex = "M"
    data = quarter_read(quarter_open(quarter_write(tmp_path / "q.zip", cases)))
    assert data.counts["duplicates"] == 2
    assert data.cases["5"].version == 3
    assert [data.events[i][1] for i in data.cases["5"].events] == ["Nausea"]
    assert data.cases["6"].fda_dt == date(2017, 4, 5)
    assert data.cases["6"].sex == "male"


def test_roles_choose_the_suspects(tmp_path):
    drugs = [("PS", "A", "ALPHA"), ("SS", "B", "BETA"), ("C", "C", "GAMMA"), ("I", "D", "DELTA")]
    path = quarter_write(tmp_path / "q.zip", [Case(1, drugs=drugs, events=["Nausea"])])
    quarter = quarter_open(path)
    named = lambda data: [data.products[i][1] for i in data.cases["1"].products]  # noqa: E731
    assert named(quarter_read(quarter)) == ["ALPHA", "BETA"]
    assert named(quarter_read(quarter, roles=("PS",))) == ["ALPHA"]
    assert named(quarter_read(quarter, roles=roles_parse("ps, c,I"))) == ["ALPHA", "GAMMA", "DELTA"]


def test_unknown_roles_are_refused():
    with pytest.raises(ValueError, match="unknown drug role X"):
        roles_parse("PS,X")
    with pytest.raises(ValueError):
        roles_parse(" , ")


def test_a_record_broken_over_two_lines_is_joined(tmp_path):
    path = quarter_write(tmp_path / "q.zip", [Case(1, events=["Nausea"]), Case(2, events=["Rash"])])
    with zipfile.ZipFile(path) as archive:
        files = {n: archive.read(n) for n in archive.namelist()}
    demo = files["ascii/DEMO17Q2.txt"].decode("latin-1").split("\n")
    demo[1] = demo[1].replace("$$$$", "$$lit line one\nlit line two$$", 1)
    demo.insert(2, "garbage$line")  # too short, and the next line is whole: malformed
    files["ascii/DEMO17Q2.txt"] = "\n".join(demo).encode("latin-1")
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    quarter = quarter_open(path)
    stats = TableStats()
    rows = list(table_rows(quarter, "DEMO", stats))
    assert [r[1] for r in rows] == ["1", "2"]
    assert (stats.rows, stats.joined, stats.malformed) == (2, 1, 1)


def test_latin1_names_are_read(tmp_path):
    cases = [Case(1, drugs=[("PS", "Tétrazépam", "")], events=["Éruption cutanée"])]
    data = quarter_read(quarter_open(quarter_write(tmp_path / "q.zip", cases)))
    assert data.products[0][1] == "Tétrazépam"


def test_deleted_cases_are_read_from_any_folder(tmp_path):
    path = quarter_write(tmp_path / "q.zip", [Case(1)], quarter="19Q1", deleted=[11, 12])
    assert deleted_cases(quarter_open(path)) == {"11", "12"}


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_bytes(b"not a zip at all"), "not a zip file"),
        (lambda p: zipfile.ZipFile(p, "w").writestr("readme.txt", "hello"), "no FAERS tables"),
        (
            lambda p: zipfile.ZipFile(p, "w").writestr("ascii/DEMO17Q2.txt", "primaryid$caseid"),
            "no DRUG, REAC, OUTC table",
        ),
    ],
)
def test_what_is_not_a_quarter_is_refused_clearly(tmp_path, make, message):
    path = tmp_path / "bad.zip"
    make(path)
    with pytest.raises(FaersError, match=message):
        quarter_open(path)


def test_a_missing_path_is_refused(tmp_path):
    with pytest.raises(FaersError, match="no such file"):
        quarter_open(tmp_path / "nowhere.zip")


def test_an_unknown_layout_is_refused(tmp_path):
    path = quarter_write(tmp_path / "q.zip", [Case(1)])
    with zipfile.ZipFile(path) as archive:
        files = {n: archive.read(n) for n in archive.namelist()}
    files["ascii/DEMO17Q2.txt"] = b"report$case$version\n1$2$3\n"
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    with pytest.raises(FaersError, match="neither primaryid"):
        quarter_open(path)


def test_a_missing_column_is_named(tmp_path):
    path = quarter_write(tmp_path / "q.zip", [Case(1)])
    with zipfile.ZipFile(path) as archive:
        files = {n: archive.read(n) for n in archive.namelist()}
    files["ascii/REAC17Q2.txt"] = b"primaryid$caseid$drug_rec_act\n"
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    with pytest.raises(FaersError, match=r"REAC17Q2\.txt lacks the column pt"):
        quarter_open(path)


def test_tables_of_two_quarters_in_one_path_are_refused(tmp_path):
    for name, quarter in (("a", "17Q2"), ("b", "17Q3")):
        (tmp_path / name).mkdir()
        quarter_write(tmp_path / name, [Case(1)], quarter=quarter, as_zip=False)
    with pytest.raises(FaersError, match="two DEMO tables"):
        quarter_open(tmp_path)


def test_a_corrupt_member_is_a_read_error(tmp_path):
    path = quarter_write(tmp_path / "q.zip", [Case(i, events=["Nausea"]) for i in range(2000)])
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("ascii/REAC17Q2.txt")
    middle = info.header_offset + 30 + len(info.filename) + info.compress_size // 2
    raw[middle] ^= 0xFF
    path.write_bytes(bytes(raw))
    quarter = quarter_open(path)
    with pytest.raises(FaersError, match=r"cannot read ascii/REAC17Q2\.txt"):
        list(table_rows(quarter, "REAC"))
