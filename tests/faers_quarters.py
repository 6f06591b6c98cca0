"""Small FAERS quarters written in the real layouts, for the import tests."""

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

CURRENT_HEADERS = {
    "DEMO": "primaryid caseid caseversion i_f_code event_dt mfr_dt init_fda_dt fda_dt rept_cod "
    "auth_num mfr_num mfr_sndr lit_ref age age_cod age_grp sex e_sub wt wt_cod rept_dt to_mfr "
    "occp_cod reporter_country occr_country",
    "DRUG": "primaryid caseid drug_seq role_cod drugname prod_ai val_vbm route dose_vbm "
    "cum_dose_chr cum_dose_unit dechal rechal lot_num exp_dt nda_num dose_amt dose_unit "
    "dose_form dose_freq",
    "REAC": "primaryid caseid pt drug_rec_act",
    "OUTC": "primaryid caseid outc_cod",
}
LEGACY_HEADERS = {
    "DEMO": "isr case i_f_cod foll_seq image event_dt mfr_dt fda_dt rept_cod mfr_num mfr_sndr "
    "age age_cod gndr_cod e_sub wt wt_cod rept_dt occp_cod death_dt to_mfr confid v23",
    "DRUG": "isr drug_seq role_cod drugname val_vbm route dose_vbm dechal rechal lot_num exp_dt "
    "nda_num v13",
    "REAC": "isr pt v3",
    "OUTC": "isr outc_cod v3",
}


@dataclass
class Case:
    """One version of a case: (role, drugname, prod_ai) drugs, events, outcome codes."""

    caseid: int
    version: int = 1
    fda_dt: str = "20170401"
    sex: str = "F"
    drugs: list[tuple[str, str, str]] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)

    @property
    def primaryid(self) -> str:
        return f"{self.caseid}{self.version}"


def _line(names: list[str], values: dict[str, str], legacy: bool) -> str:
    text = "$".join(values.get(n, "") for n in names)
    return text + "$" if legacy else text


def quarter_write(
    dest: Path,
    cases: list[Case],
    *,
    quarter: str = "17Q2",
    legacy: bool = False,
    deleted: list[int] | None = None,
    crlf: bool = False,
    upper: bool = False,
    folder: str = "ascii",
    as_zip: bool = True,
) -> Path:
    """Write a quarter as a zip file (or a folder) at dest, in the current or legacy layout.

    ``upper`` writes upper-case file names, ``crlf`` Windows line ends, ``deleted`` a
    ``Deleted/DELETEyyQq.txt`` list next to the tables' folder."""
    headers = LEGACY_HEADERS if legacy else CURRENT_HEADERS
    key = "isr" if legacy else "primaryid"
    rows: dict[str, list[dict[str, str]]] = {t: [] for t in headers}
    for case in cases:
        ids = {key: case.primaryid}
        if legacy:
            ids["case"] = str(case.caseid)
        else:
            ids["caseid"] = str(case.caseid)
        demo = {**ids, "fda_dt": case.fda_dt}
        if legacy:
            demo.update(foll_seq=str(case.version) if case.version else "", gndr_cod=case.sex)
        else:
            demo.update(caseversion=str(case.version), sex=case.sex)
        rows["DEMO"].append(demo)
        for seq, (role, drugname, prod_ai) in enumerate(case.drugs, start=1):
            drug = {**ids, "drug_seq": str(seq), "role_cod": role, "drugname": drugname}
            if not legacy:
                drug["prod_ai"] = prod_ai
            rows["DRUG"].append(drug)
        rows["REAC"] += [{**ids, "pt": pt} for pt in case.events]
        rows["OUTC"] += [{**ids, "outc_cod": code} for code in case.outcomes]
    end = "\r\n" if crlf else "\n"
    files: dict[str, bytes] = {}
    for table, header in headers.items():
        names = header.split()
        lines = [_line(names, {n: n for n in names}, False)]
        lines += [_line(names, r, legacy) for r in rows[table]]
        name = f"{table}{quarter}.{'TXT' if upper else 'txt'}"
        if not upper:
            name = name[:4].upper() + name[4:]
        files[f"{folder}/{name}" if folder else name] = (end.join(lines) + end).encode("latin-1")
    if deleted is not None:
        text = end.join(str(c) for c in deleted) + end
        files[f"Deleted/DELETE{quarter}.txt"] = text.encode("latin-1")
    if as_zip:
        with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in files.items():
                archive.writestr(name, data)
        return dest
    for name, data in files.items():
        path = dest / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return dest
