"""A made-up MedDRA ASCII release, written in the exact layout of MedAscii/ (no MedDRA
content: every code past the CTCAE ones the open terminology ships is invented, and every
name is either invented or a name the open terminology has).

``release_write(folder, version=...)`` writes the base release; ``newer=True`` writes the
next one, which retires an LLT, adds an LLT and a PT, and moves a PT to another SOC.
"""

from pathlib import Path

GUT = "90000001"
ZORB = "90000002"

# PT code -> (name, primary SOC)
PTS = {
    "10000060": ("Abdominal distension", GUT),  # the CTCAE term's own code
    "92000001": ("Gingival bleeding", GUT),  # a term the product added, found by name
    "92000010": ("Zorbic fever", ZORB),  # no term has it: a new term
    "92000020": ("Zorbic haemorrhage of the knee", ZORB),
    "92000030": ("Zorbic bruise", ZORB),
    "92000040": ("Zorbic bleed of the shin", ZORB),
    "92000050": ("Haemorrhage", ZORB),  # the name of a group of the terminology
}
# LLT code -> (name, PT code, current)
LLTS = {
    "10000060": ("Abdominal distension", "10000060", True),
    "91000001": ("Belly bloating zorbic", "10000060", True),
    "91000002": ("Abdominal distension of old", "10000060", False),
    "92000001": ("Gingival bleeding", "92000001", True),
    "92000002": ("Gum zorbic bleeding", "92000001", True),
    "92000010": ("Zorbic fever", "92000010", True),
    "92000011": ("Zorbic pyrexia", "92000010", True),
    "92000012": ("Old zorbic fever", "92000010", False),
    "92000013": ("Epistaxis", "92000001", True),  # another term's name: not a name here
    "92000015": ("Zorbic fi\u00e8vre", "92000010", True),
    "92000020": ("Zorbic haemorrhage of the knee", "92000020", True),
    "92000030": ("Zorbic bruise", "92000030", True),
    "92000040": ("Zorbic bleed of the shin", "92000040", True),
    "92000050": ("Haemorrhage", "92000050", True),
}
SOCS = {GUT: ("Zorbic gut disorders", "Zgut"), ZORB: ("Zorbic general disorders", "Zgen")}

SMQ_NAME = "Zorbic bleeding events (SMQ)"
SMQS = [
    ("98000001", SMQ_NAME, 1),
    ("98000002", "Zorbic shin events (SMQ)", 2),
]
# smq, term, level (0 sub-SMQ, 4 PT, 5 LLT), scope (1 broad, 2 narrow), status
SMQ_CONTENT = [
    ("98000001", "98000002", 0, 0, "A"),
    ("98000001", "92000020", 4, 2, "A"),
    ("98000001", "92000030", 4, 1, "A"),
    ("98000001", "92000010", 4, 2, "I"),
    ("98000001", "92000002", 5, 2, "A"),
    ("98000002", "92000040", 4, 2, "A"),
]


def _line(*fields: str) -> str:
    return "".join(f"{f}$" for f in fields)


def release_write(
    folder: Path,
    *,
    version: str = "90.0",
    newer: bool = False,
    smq: bool = True,
    extra: dict[str, str] | None = None,
) -> Path:
    """Write a release into ``folder``/MedAscii and return ``folder``. ``extra`` adds PTs
    (made-up code -> name), each its own current LLT, under the general SOC."""
    pts = dict(PTS)
    llts = dict(LLTS)
    for code, name in (extra or {}).items():
        pts[code] = (name, ZORB)
        llts[code] = (name, code, True)
    if newer:
        pts["92000010"] = ("Zorbic fever", GUT)
        pts["92000060"] = ("Zorbic cough", ZORB)
        llts["91000001"] = ("Belly bloating zorbic", "10000060", False)
        llts["92000014"] = ("Zorbic temperature", "92000010", True)
        llts["92000060"] = ("Zorbic cough", "92000060", True)
    hlts = {soc.replace("9000", "9300"): soc for soc in SOCS}
    hlgts = {soc.replace("9000", "9400"): soc for soc in SOCS}
    hlt_of = {soc: hlt for hlt, soc in hlts.items()}
    hlgt_of = {soc: hlgt for hlgt, soc in hlgts.items()}

    med = folder / "MedAscii"
    med.mkdir(parents=True, exist_ok=True)
    lines: dict[str, list[str]] = {
        # No final newline, as 28.0 wrote it.
        "meddra_release.asc": [_line(version, "English", "", "", "")],
        "soc.asc": [_line(c, n, a, *[""] * 7) for c, (n, a) in SOCS.items()],
        "hlgt.asc": [_line(c, f"Zorbic group {c}", *[""] * 7) for c in hlgts],
        "hlt.asc": [_line(c, f"Zorbic kind {c}", *[""] * 7) for c in hlts],
        "pt.asc": [_line(c, n, "", soc, *[""] * 7) for c, (n, soc) in pts.items()],
        "llt.asc": [
            _line(c, n, pt, *[""] * 6, "Y" if cur else "N", "") for c, (n, pt, cur) in llts.items()
        ],
        "soc_hlgt.asc": [_line(soc, hlgt) for hlgt, soc in hlgts.items()],
        "hlgt_hlt.asc": [_line(hlgt_of[soc], hlt) for hlt, soc in hlts.items()],
        "hlt_pt.asc": [_line(hlt_of[soc], c) for c, (_, soc) in pts.items()],
        "mdhier.asc": [],
    }
    for code, (name, soc) in pts.items():
        for path_soc in SOCS:
            # Every PT sits under both SOCs; the primary path is flagged Y.
            lines["mdhier.asc"].append(
                _line(
                    code,
                    hlt_of[path_soc],
                    hlgt_of[path_soc],
                    path_soc,
                    name,
                    f"Zorbic kind {hlt_of[path_soc]}",
                    f"Zorbic group {hlgt_of[path_soc]}",
                    SOCS[path_soc][0],
                    SOCS[path_soc][1],
                    "",
                    soc,
                    "Y" if path_soc == soc else "N",
                )
            )
    if smq:
        lines["SMQ_LIST.ASC"] = [
            _line(c, n, str(level), "Made-up description", "", "", version, "A", "N")
            for c, n, level in SMQS
        ]
        lines["smq_content.asc"] = [
            _line(s, t, str(level), str(scope), "A", "0", status, version, version)
            for s, t, level, scope, status in SMQ_CONTENT
        ]
    for name, rows in lines.items():
        if name == "meddra_release.asc":
            data = rows[0].encode("ascii")
        elif name == "pt.asc":
            data = "".join(r + "\r\n" for r in rows).encode("ascii")
        else:
            # cp1252, as English releases are written: the accented LLT is not UTF-8.
            data = "".join(r + "\n" for r in rows).encode("cp1252")
        (med / name).write_bytes(data)
    return folder
