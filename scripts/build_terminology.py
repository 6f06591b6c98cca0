"""Build the shipped open terminology (reference/data/terminology.json).

The base is NCI CTCAE v5.0: every row becomes one term carrying its MedDRA code
and SOC. Only the code, SOC and term name columns are read; the grade criteria
and definitions are not ours to redistribute and never reach the output.

On top of that base this script merges label names with their CTCAE
equivalents (one concept, one term), adds the seed label's terms that CTCAE
lacks, adds bleeding sites a safety officer expects to be codable, attaches
lay phrases, and assigns group membership. All hand-curated data lives below
as literal Python so that reviews happen in diffs.

Usage: python scripts/build_terminology.py [CTCAE_CSV] [--output PATH]
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Final, TypedDict

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
# The CTCAE v5.0 terms (MedDRA code, SOC, name); NCI's full CSV gives the same build.
DEFAULT_CSV: Final = REPO_ROOT / "reference" / "data" / "ctcae_v5.0_terms.csv"
DEFAULT_OUTPUT: Final = REPO_ROOT / "reference" / "data" / "terminology.json"

FORMAT_VERSION: Final = 1
CTCAE_ROW_COUNT: Final = 837

SOURCE_CTCAE: Final = "ctcae"
SOURCE_LABEL: Final = "label"
SOURCE_SITE: Final = "site"

BLOOD: Final = "Blood and lymphatic system disorders"
CARDIAC: Final = "Cardiac disorders"
EAR: Final = "Ear and labyrinth disorders"
ENDOCRINE: Final = "Endocrine disorders"
EYE: Final = "Eye disorders"
GASTRO: Final = "Gastrointestinal disorders"
GENERAL: Final = "General disorders and administration site conditions"
HEPATO: Final = "Hepatobiliary disorders"
IMMUNE: Final = "Immune system disorders"
INFECTIONS: Final = "Infections and infestations"
INJURY: Final = "Injury, poisoning and procedural complications"
INVESTIGATIONS: Final = "Investigations"
MUSCULO: Final = "Musculoskeletal and connective tissue disorders"
NERVOUS: Final = "Nervous system disorders"
RENAL: Final = "Renal and urinary disorders"
REPRODUCTIVE: Final = "Reproductive system and breast disorders"
RESPIRATORY: Final = "Respiratory, thoracic and mediastinal disorders"
SKIN: Final = "Skin and subcutaneous tissue disorders"
VASCULAR: Final = "Vascular disorders"

GROUP_HAEMORRHAGE: Final = "Haemorrhage"
GROUP_INFECTION: Final = "Infection"
GROUP_TRANSAMINASES: Final = "Transaminases increased"


class GroupSpec(TypedDict):
    name: str
    soc: str
    covers_members: bool
    synonyms: list[str]


class AddedTermSpec(TypedDict):
    name: str
    soc: str
    source: str
    synonyms: list[str]


class GroupRecord(TypedDict):
    name: str
    soc: str
    covers_members: bool
    synonyms: list[str]
    lay: list[str]


class TermRecord(TypedDict):
    name: str
    soc: str
    meddra_code: str | None
    ctcae_name: str | None
    source: str
    synonyms: list[str]
    lay: list[str]
    groups: list[str]


class Terminology(TypedDict):
    version: int
    groups: list[GroupRecord]
    terms: list[TermRecord]


class TerminologyError(Exception):
    """The curated data or the CTCAE file breaks an invariant of the terminology."""


# --------------------------------------------------------------------------
# Spelling
# --------------------------------------------------------------------------

# American words of CTCAE term names and their British forms, as MedDRA's
# English edition spells them. Listed word by word (not derived by a rule) so
# that words such as "erythema" or "systemic" are never mangled.
BRITISH_WORDS: Final[dict[str, str]] = {
    "amenorrhea": "amenorrhoea",
    "anemia": "anaemia",
    "apnea": "apnoea",
    "bacteremia": "bacteraemia",
    "cecal": "caecal",
    "color": "colour",
    "diarrhea": "diarrhoea",
    "discoloration": "discolouration",
    "dysesthesia": "dysaesthesia",
    "dysmenorrhea": "dysmenorrhoea",
    "dyspnea": "dyspnoea",
    "edema": "oedema",
    "erythrodysesthesia": "erythrodysaesthesia",
    "esophageal": "oesophageal",
    "esophagitis": "oesophagitis",
    "fecal": "faecal",
    "feminization": "feminisation",
    "fetal": "foetal",
    "fungemia": "fungaemia",
    "gastroesophageal": "gastro-oesophageal",
    "generalized": "generalised",
    "gynecomastia": "gynaecomastia",
    "hematoma": "haematoma",
    "hematosalpinx": "haematosalpinx",
    "hematuria": "haematuria",
    "hemoglobin": "haemoglobin",
    "hemoglobinuria": "haemoglobinuria",
    "hemolysis": "haemolysis",
    "hemolytic": "haemolytic",
    "hemorrhage": "haemorrhage",
    "hemorrhoidal": "haemorrhoidal",
    "hemorrhoids": "haemorrhoids",
    "hypercalcemia": "hypercalcaemia",
    "hyperglycemia": "hyperglycaemia",
    "hyperkalemia": "hyperkalaemia",
    "hyperlipidemia": "hyperlipidaemia",
    "hypermagnesemia": "hypermagnesaemia",
    "hypernatremia": "hypernatraemia",
    "hyperphosphatemia": "hyperphosphataemia",
    "hypertriglyceridemia": "hypertriglyceridaemia",
    "hyperuricemia": "hyperuricaemia",
    "hypoalbuminemia": "hypoalbuminaemia",
    "hypocalcemia": "hypocalcaemia",
    "hypoglycemia": "hypoglycaemia",
    "hypokalemia": "hypokalaemia",
    "hypomagnesemia": "hypomagnesaemia",
    "hyponatremia": "hyponatraemia",
    "hypophosphatemia": "hypophosphataemia",
    "ischemia": "ischaemia",
    "ischemic": "ischaemic",
    "leukemia": "leukaemia",
    "localized": "localised",
    "lymphedema": "lymphoedema",
    "methemoglobinemia": "methaemoglobinaemia",
    "odor": "odour",
    "papilledema": "papilloedema",
    "paresthesia": "paraesthesia",
    "rhinorrhea": "rhinorrhoea",
    "tumor": "tumour",
    "uremic": "uraemic",
    "viremia": "viraemia",
    "virilization": "virilisation",
}

# Rewrites that make British and American spellings compare equal. Used only
# to detect collisions, so erring towards merging more is the safe side: a
# false collision is reported, a missed one would ship an ambiguous name.
_SPELLING_RULES: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    (re.compile(r"ae"), "e"),
    (re.compile(r"oe"), "e"),
    (re.compile(r"leuc"), "leuk"),
    (re.compile(r"(tum|col|od|behavi|hum)our"), r"\1or"),
    (re.compile(r"is(e|ed|es|ing|ation|ations)\b"), r"iz\1"),
    (re.compile(r"sulph"), "sulf"),
)


def normalise(text: str) -> str:
    """Comparison key: case, accents, punctuation, spacing and US/GB spelling ignored.

    Spaces are dropped altogether ("intra-abdominal" meets "intraabdominal"),
    as the product's own matching key does.
    """
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    key = " ".join(re.findall(r"[a-z0-9]+", folded))
    for pattern, replacement in _SPELLING_RULES:
        key = pattern.sub(replacement, key)
    return key.replace(" ", "")


def british(ctcae_name: str) -> str:
    """The CTCAE name with its American words spelt the British way."""

    def replace(match: re.Match[str]) -> str:
        word = match.group(0)
        gb = BRITISH_WORDS.get(word.casefold())
        if gb is None:
            return word
        return gb[0].upper() + gb[1:] if word[0].isupper() else gb

    return re.sub(r"[A-Za-z]+", replace, ctcae_name)


# --------------------------------------------------------------------------
# Curated data
# --------------------------------------------------------------------------

# CTCAE names whose concept is known by another (label or clinical) name. The
# CTCAE name becomes a synonym of the display name.
CTCAE_DISPLAY_NAMES: Final[dict[str, str]] = {
    "Allergic reaction": "Hypersensitivity",
    "Anorexia": "Decreased appetite",
    "Blood bilirubin increased": "Hyperbilirubinaemia",
    "Electrocardiogram QT corrected interval prolonged": "QT prolonged",
    "Fever": "Pyrexia",
    "GGT increased": "Gamma-glutamyltransferase increased",
    "Hot flashes": "Hot flush",
    "Lymphocyte count decreased": "Lymphopenia",
    "Mucositis oral": "Stomatitis",
    "Neutrophil count decreased": "Neutropenia",
    "Oral hemorrhage": "Mouth haemorrhage",
    "Platelet count decreased": "Thrombocytopenia",
    "Pleural hemorrhage": "Haemothorax",
    "Serum amylase increased": "Amylase increased",
    "Urine discoloration": "Chromaturia",
    "White blood cell decreased": "Leukopenia",
}

# A merged term takes the SOC of the concept its display name names (a
# cytopenia is a blood disorder, not a laboratory finding), not the SOC that
# CTCAE gives its laboratory-style name.
DISPLAY_SOC: Final[dict[str, str]] = {
    "Hyperbilirubinaemia": HEPATO,
    "Leukopenia": BLOOD,
    "Lymphopenia": BLOOD,
    "Neutropenia": BLOOD,
    "Thrombocytopenia": BLOOD,
}

# Further names of CTCAE terms, keyed by display name.
CTCAE_EXTRA_SYNONYMS: Final[dict[str, list[str]]] = {
    "Abdominal distension": ["Abdominal distention"],
    "Activated partial thromboplastin time prolonged": ["aPTT prolonged"],
    "Acute kidney injury": ["AKI", "Acute renal failure"],
    "Adult respiratory distress syndrome": ["Acute respiratory distress syndrome"],
    "Alanine aminotransferase increased": ["ALT increased"],
    "Alkaline phosphatase increased": ["Blood alkaline phosphatase increased"],
    "Amylase increased": ["Blood amylase increased"],
    "Anaphylaxis": ["Anaphylactic reaction"],
    "Aspartate aminotransferase increased": ["AST increased"],
    "Blood lactate dehydrogenase increased": ["LDH increased"],
    "Bronchopulmonary haemorrhage": ["Lung haemorrhage", "Pulmonary haemorrhage"],
    "Bruising": ["Contusion"],
    "CPK increased": [
        "Blood creatine phosphokinase increased",
        "Creatine phosphokinase increased",
    ],
    "Colonic haemorrhage": ["Large intestinal haemorrhage"],
    "Creatinine increased": ["Blood creatinine increased"],
    "Chromaturia": ["Urine discolouration"],
    "Decreased appetite": ["Appetite decreased"],
    "Dyspnoea": ["SOB"],
    "Fatigue": ["Asthenia"],
    "Febrile neutropenia": ["Neutropenic fever"],
    "Gamma-glutamyltransferase increased": [
        "Gamma GT increased",
        "Gamma-glutamyl transferase increased",
    ],
    "Haemothorax": ["Pleural haemorrhage"],
    "Heart failure": ["Cardiac failure"],
    "Hepatic failure": ["Liver failure"],
    "Hot flush": ["Hot flushes"],
    "Hyperbilirubinaemia": ["Bilirubin increased"],
    "Hypersensitivity": ["Drug hypersensitivity"],
    "INR increased": ["International normalised ratio increased"],
    "Infusion related reaction": ["Infusion-related reaction"],
    "Intra-abdominal haemorrhage": ["Haemoperitoneum", "Intraabdominal hemorrhage"],
    "Leukopenia": [
        "Leucopenia",
        "White blood cell count decreased",
        "WBC decreased",
    ],
    "Lower gastrointestinal haemorrhage": [
        "Lower GI bleeding",
        "Lower GI haemorrhage",
        "Lower gastrointestinal bleeding",
    ],
    "Lung infection": ["Pneumonia"],
    "Lymphopenia": ["Lymphocytopenia"],
    "Neutropenia": ["Granulocytopenia"],
    "Palmar-plantar erythrodysaesthesia syndrome": ["Hand-foot syndrome"],
    "Postoperative haemorrhage": [
        "Post procedural haemorrhage",
        "Postprocedural haemorrhage",
    ],
    "QT prolonged": [
        "Electrocardiogram QT prolonged",
        "QT interval prolonged",
        "QTc prolonged",
    ],
    "Rash maculo-papular": ["Maculopapular rash"],
    "Seizure": ["Convulsion"],
    "Shingles": ["Herpes zoster"],
    "Sinusoidal obstruction syndrome": [
        "Hepatic veno-occlusive disease",
        "Veno-occlusive disease",
    ],
    "Stomatitis": ["Oral mucositis"],
    "Stroke": ["Cerebrovascular accident"],
    # CTCAE v5.0 has no venous thrombosis or pulmonary embolism term: it grades both
    # as a thromboembolic event (its grade 3 names pulmonary embolism).
    "Thromboembolic event": [
        "DVT",
        "Deep vein thrombosis",
        "PE",
        "Pulmonary embolism",
        "VTE",
        "Venous thromboembolism",
    ],
    "Thrush": ["Oral candidiasis"],
    "Upper gastrointestinal haemorrhage": [
        "Upper GI bleeding",
        "Upper GI haemorrhage",
        "Upper gastrointestinal bleeding",
    ],
    "Upper respiratory infection": ["Upper respiratory tract infection"],
    "Urinary tract infection": ["UTI"],
    "Weight gain": ["Weight increased"],
    "Weight loss": ["Weight decreased"],
}


def _added(name: str, soc: str, source: str, *synonyms: str) -> AddedTermSpec:
    return {"name": name, "soc": soc, "source": source, "synonyms": list(synonyms)}


# Terms CTCAE lacks. "label": named by the seed label (professional section,
# or a concept of its consumer section). "site": a bleeding site that neither
# names, so that a bleed there can be coded and found unlisted.
ADDED_TERMS: Final[tuple[AddedTermSpec, ...]] = (
    _added("Bone marrow failure", BLOOD, SOURCE_LABEL),
    _added("Chest pain", GENERAL, SOURCE_LABEL),
    _added("Conjunctival haemorrhage", EYE, SOURCE_LABEL, "Subconjunctival haemorrhage"),
    _added("Ecchymosis", SKIN, SOURCE_LABEL),
    _added("Eyelid bleeding", EYE, SOURCE_LABEL, "Eyelid haemorrhage"),
    _added("Febrile bone marrow aplasia", BLOOD, SOURCE_LABEL),
    _added(
        "Gastrointestinal haemorrhage",
        GASTRO,
        SOURCE_LABEL,
        "GI bleeding",
        "GI hemorrhage",
        "Gastrointestinal bleeding",
    ),
    _added("Gingival bleeding", GASTRO, SOURCE_LABEL, "Gingival haemorrhage", "Gum bleeding"),
    _added("Haematemesis", GASTRO, SOURCE_LABEL),
    _added("Haematochezia", GASTRO, SOURCE_LABEL),
    _added("Haemorrhagic gastritis", GASTRO, SOURCE_LABEL, "Gastritis haemorrhagic"),
    _added("Haemotympanum", EAR, SOURCE_LABEL),
    _added("Immunogenicity", IMMUNE, SOURCE_LABEL),
    _added("Jaundice", HEPATO, SOURCE_LABEL, "Icterus"),
    _added("Lip haemorrhage", GASTRO, SOURCE_LABEL),
    _added("Lymphadenopathy", BLOOD, SOURCE_LABEL, "Lymph node enlargement"),
    _added("Mesenteric haemorrhage", GASTRO, SOURCE_LABEL),
    _added("Muscle haemorrhage", MUSCULO, SOURCE_LABEL),
    _added("Oral mucosa haematoma", GASTRO, SOURCE_LABEL),
    _added("Pallor", VASCULAR, SOURCE_LABEL),  # MedDRA's primary SOC for pallor
    _added("Pancytopenia", BLOOD, SOURCE_LABEL),
    _added("Paralysis", NERVOUS, SOURCE_LABEL),
    _added("Petechiae", SKIN, SOURCE_LABEL),
    _added(
        "Post procedural haematoma",
        INJURY,
        SOURCE_LABEL,
        "Post-procedural hematoma",
        "Postprocedural haematoma",
    ),
    _added("Subcutaneous haemorrhage", SKIN, SOURCE_LABEL, "Hemorrhage subcutaneous"),
    _added("Subdural haematoma", NERVOUS, SOURCE_LABEL, "Subdural haemorrhage"),
    _added("Adrenal haemorrhage", ENDOCRINE, SOURCE_SITE),
    _added("Catheter site haemorrhage", GENERAL, SOURCE_SITE),
    _added("Cerebellar haemorrhage", NERVOUS, SOURCE_SITE),
    _added("Cerebral haemorrhage", NERVOUS, SOURCE_SITE, "Intracerebral haemorrhage"),
    _added("Choroidal haemorrhage", EYE, SOURCE_SITE),
    _added("Duodenal ulcer haemorrhage", GASTRO, SOURCE_SITE),
    _added("Ear haemorrhage", EAR, SOURCE_SITE),
    _added("Epidural haematoma", NERVOUS, SOURCE_SITE, "Extradural haematoma"),
    _added("Eye haemorrhage", EYE, SOURCE_SITE, "Intraocular haemorrhage", "Ocular haemorrhage"),
    _added("Gastric ulcer haemorrhage", GASTRO, SOURCE_SITE),
    _added("Haemarthrosis", MUSCULO, SOURCE_SITE),
    _added("Haemoptysis", RESPIRATORY, SOURCE_SITE),
    _added("Haemorrhagic cystitis", RENAL, SOURCE_SITE, "Cystitis haemorrhagic"),
    _added("Haemorrhagic stroke", NERVOUS, SOURCE_SITE),
    _added("Hyphaema", EYE, SOURCE_SITE, "Anterior chamber haemorrhage"),
    _added("Infusion site haemorrhage", GENERAL, SOURCE_SITE),
    _added("Injection site haemorrhage", GENERAL, SOURCE_SITE),
    _added("Intraventricular haemorrhage", NERVOUS, SOURCE_SITE),
    _added("Melaena", GASTRO, SOURCE_SITE),
    _added("Metrorrhagia", REPRODUCTIVE, SOURCE_SITE, "Intermenstrual bleeding"),
    _added("Pericardial haemorrhage", CARDIAC, SOURCE_SITE, "Haemopericardium"),
    _added(
        "Pulmonary alveolar haemorrhage",
        RESPIRATORY,
        SOURCE_SITE,
        "Diffuse alveolar haemorrhage",
    ),
    _added("Retinal haemorrhage", EYE, SOURCE_SITE),
    _added("Skin haemorrhage", SKIN, SOURCE_SITE),
    _added("Small intestinal haemorrhage", GASTRO, SOURCE_SITE),
    _added("Splenic haemorrhage", BLOOD, SOURCE_SITE),
    _added("Subarachnoid haemorrhage", NERVOUS, SOURCE_SITE),
    _added("Tongue haemorrhage", GASTRO, SOURCE_SITE),
    _added("Urethral haemorrhage", RENAL, SOURCE_SITE),
    _added("Wound haemorrhage", INJURY, SOURCE_SITE, "Wound bleeding"),
)

GROUPS: Final[tuple[GroupSpec, ...]] = (
    {
        "name": GROUP_HAEMORRHAGE,
        "soc": VASCULAR,
        # Each bleeding site must be named on a label to be listed.
        "covers_members": False,
        "synonyms": ["Bleeding", "Haemorrhage NOS", "Hemorrhage"],
    },
    {
        "name": GROUP_INFECTION,
        "soc": INFECTIONS,
        "covers_members": True,
        "synonyms": ["Infection NOS", "Infections"],
    },
    {
        "name": GROUP_TRANSAMINASES,
        "soc": INVESTIGATIONS,
        "covers_members": True,
        "synonyms": [
            "Elevated transaminases",
            "Hypertransaminasaemia",
            "Liver enzymes increased",
            "Raised liver enzymes",
            "Transaminase increased",
            "Transaminases elevated",
        ],
    },
)

# Lay phrases, keyed by term or group name. The consumer bullets of the seed
# label that name a clinical concept come first, lowercased as written (a
# bullet naming two concepts goes on both); everyday phrases follow. Bullets
# that already are a name ("fever", "chills", "headache", ...) need no entry.
LAY_PHRASES: Final[dict[str, list[str]]] = {
    "Anaemia": ["low red blood cell count"],
    "Back pain": ["lower back or side pain"],
    "Bruising": ["unusual bleeding or bruising", "bruises easily"],
    "Chromaturia": ["red or dark brown urine"],
    "Cough": ["cough or hoarseness"],
    "Dysphagia": ["difficulty in breathing or swallowing", "difficulty swallowing"],
    "Dyspnoea": [
        "difficulty in breathing or swallowing",
        "troubled breathing with exertion",
        "shortness of breath",
        "breathlessness",
    ],
    "Dysuria": ["painful or difficult urination", "pain when passing urine"],
    "Epistaxis": ["nosebleeds", "nose bleed"],
    "Fatigue": ["unusual tiredness or weakness", "tiredness"],
    "Flank pain": ["lower back or side pain"],
    "Gingival bleeding": ["bleeding gums"],
    "Haematochezia": ["blood in the urine or stools", "blood in the stools"],
    "Haematuria": ["blood in the urine or stools", "red or dark brown urine", "blood in the urine"],
    "Haemoptysis": ["coughing up blood"],
    "Hoarseness": ["cough or hoarseness"],
    "Jaundice": ["yellow eyes or skin", "yellowing of the skin"],
    "Lymphadenopathy": ["swollen glands"],
    "Melaena": ["black, tarry stools", "black stools"],
    "Menorrhagia": ["increased menstrual flow or vaginal bleeding", "heavy periods"],
    "Pallor": ["pale skin"],
    "Petechiae": ["pinpoint red spots on the skin"],
    "Stomatitis": ["sores, ulcers, or white spots on the lips or in the mouth", "mouth sores"],
    "Vaginal haemorrhage": ["increased menstrual flow or vaginal bleeding"],
    GROUP_HAEMORRHAGE: [
        "prolonged bleeding from cuts",
        "unusual bleeding or bruising",
        "unusual bleeding",
    ],
    GROUP_INFECTION: ["frequent infections"],
    GROUP_TRANSAMINASES: ["abnormal liver blood tests"],
    # Everyday phrases.
    "Abdominal pain": ["stomach ache", "tummy pain"],
    "Alopecia": ["hair loss"],
    "Arthralgia": ["joint pain"],
    "Decreased appetite": ["loss of appetite"],
    "Diarrhoea": ["runny stools", "loose stools"],
    "Haematemesis": ["vomiting blood"],
    "Hypertension": ["high blood pressure"],
    "Hypotension": ["low blood pressure"],
    "Insomnia": ["trouble sleeping"],
    "Leukopenia": ["low white blood cell count"],
    "Lung infection": ["chest infection"],
    "Myalgia": ["muscle pain"],
    "Myocardial infarction": ["heart attack"],
    "Nausea": ["feeling sick"],
    "Neutropenia": ["low neutrophil count"],
    "Hyponatraemia": ["low sodium", "low blood sodium"],
    "Paraesthesia": ["pins and needles", "tingling"],
    "Pruritus": ["itching"],
    "Pyrexia": ["high temperature"],
    "Rectal haemorrhage": ["bleeding from the back passage"],
    "Syncope": ["fainting"],
    "Thrombocytopenia": ["low platelets", "low platelet count"],
    "Thromboembolic event": ["blood clot"],
    "Tinnitus": ["ringing in the ears"],
    "Urticaria": ["hives"],
    "Vomiting": ["throwing up", "being sick"],
}

# Bleeding terms are found by name; these match the pattern but are not bleeds.
_BLEEDING_NAME: Final = re.compile(
    r"haemorrhag|bleed|haemat(oma|uria|emesis|ochezia|osalpinx)|haemoptysis"
    r"|haemothorax|haemarthrosis|haemotympanum|hyphaema|epistaxis|petechia"
    r"|ecchymosis|bruis|purpura|menorrhagia|metrorrhagia|melaena"
)
NOT_BLEEDING: Final[frozenset[str]] = frozenset({"Thrombotic thrombocytopenic purpura"})

TRANSAMINASES: Final[frozenset[str]] = frozenset(
    {"Alanine aminotransferase increased", "Aspartate aminotransferase increased"}
)

# The seed label's professional entries (62: "upper/lower GI hemorrhage" split
# in two, Pancytopenia's examples folded in), spelt as the label spells them,
# and the terms Pancytopenia's entry covers. Every one must code.
SEED_PROFESSIONAL_ENTRIES: Final[tuple[str, ...]] = (
    "Thrombocytopenia", "neutropenia", "anemia", "leukopenia", "febrile neutropenia",
    "lymphopenia", "Pancytopenia", "Hypersensitivity", "Infection", "Immunogenicity",
    "Infusion related reaction", "Muscle hemorrhage", "Conjunctival hemorrhage",
    "eyelid bleeding", "Decreased appetite", "Lipase increased", "amylase increased",
    "hyperuricemia", "Tumor lysis syndrome", "Vaginal hemorrhage", "Menorrhagia",
    "hematuria", "Hyperbilirubinemia", "transaminases increased",
    "gamma-glutamyltransferase increased", "alkaline phosphatase increased", "Epistaxis",
    "Fatigue", "pyrexia", "chills", "Hemotympanum", "Headache", "Hemorrhage",
    "QT prolonged", "Intracranial hemorrhage", "subdural hematoma", "Ecchymosis",
    "hemorrhage subcutaneous", "mesenteric hemorrhage", "petechiae",
    "post-procedural hematoma", "Nausea", "abdominal pain", "diarrhea", "constipation",
    "vomiting", "stomatitis", "Abdominal distention", "ascites", "GI hemorrhage",
    "hemorrhagic gastritis", "gingival bleeding", "hematemesis", "hematochezia",
    "hemorrhoidal hemorrhage", "intraabdominal hemorrhage", "lip hemorrhage",
    "upper GI hemorrhage", "lower GI hemorrhage", "mouth hemorrhage",
    "oral mucosa hematoma", "rectal hemorrhage",
)  # fmt: skip
SEED_PROFESSIONAL_ENTRY_COUNT: Final = 62
SEED_COVERED_TERMS: Final[tuple[str, ...]] = (
    "bone marrow failure",
    "febrile bone marrow aplasia",
    "pancytopenia",
)
SEED_GROUP_ENTRIES: Final[frozenset[str]] = frozenset(
    {GROUP_HAEMORRHAGE, GROUP_INFECTION, GROUP_TRANSAMINASES}
)


# --------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------


def read_ctcae(path: Path) -> list[tuple[str, str, str]]:
    """(MedDRA code, SOC, CTCAE term) of every row; nothing else is read."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = [
            (row["MedDRA Code"].strip(), row["MedDRA SOC"].strip(), row["CTCAE Term"].strip())
            for row in csv.DictReader(handle)
        ]
    if len(rows) != CTCAE_ROW_COUNT:
        raise TerminologyError(f"{path}: expected {CTCAE_ROW_COUNT} CTCAE rows, read {len(rows)}")
    for code, soc, name in rows:
        if not re.fullmatch(r"\d{8}", code) or not soc or not name:
            raise TerminologyError(f"{path}: malformed row {code!r}, {soc!r}, {name!r}")
    return rows


def _sorted_unique(names: Iterable[str], *, excluding: str = "") -> list[str]:
    unique = {name for name in names if name != excluding}
    return sorted(unique, key=lambda name: (name.casefold(), name))


def is_bleeding(display_name: str) -> bool:
    """Whether a term (by its British display name) is a bleed of some site."""
    if display_name in NOT_BLEEDING:
        return False
    return _BLEEDING_NAME.search(display_name.casefold()) is not None


def build_terms(ctcae_rows: Sequence[tuple[str, str, str]]) -> list[TermRecord]:
    terms: list[TermRecord] = []
    for code, soc, ctcae_name in ctcae_rows:
        name = CTCAE_DISPLAY_NAMES.get(ctcae_name, british(ctcae_name))
        terms.append(
            {
                "name": name,
                "soc": DISPLAY_SOC.get(name, soc),
                "meddra_code": code,
                "ctcae_name": ctcae_name,
                "source": SOURCE_CTCAE,
                "synonyms": [ctcae_name, *CTCAE_EXTRA_SYNONYMS.get(name, [])],
                "lay": [],
                "groups": [],
            }
        )
    for spec in ADDED_TERMS:
        terms.append(
            {
                "name": spec["name"],
                "soc": spec["soc"],
                "meddra_code": None,
                "ctcae_name": None,
                "source": spec["source"],
                "synonyms": list(spec["synonyms"]),
                "lay": [],
                "groups": [],
            }
        )

    known = {term["name"] for term in terms}
    for keyed in (CTCAE_EXTRA_SYNONYMS, LAY_PHRASES):
        unknown = set(keyed) - known - {group["name"] for group in GROUPS}
        if unknown:
            raise TerminologyError(f"curated data names unknown terms: {sorted(unknown)}")
    unused_renames = set(CTCAE_DISPLAY_NAMES) - {row[2] for row in ctcae_rows}
    unused_renames |= set(DISPLAY_SOC) - set(CTCAE_DISPLAY_NAMES.values())
    if unused_renames:
        raise TerminologyError(f"display names for absent CTCAE terms: {sorted(unused_renames)}")

    for term in terms:
        term["lay"] = _sorted_unique(LAY_PHRASES.get(term["name"], []))
        term["synonyms"] = _sorted_unique(term["synonyms"], excluding=term["name"])
        groups = []
        if is_bleeding(term["name"]):
            groups.append(GROUP_HAEMORRHAGE)
        if term["soc"] == INFECTIONS:
            groups.append(GROUP_INFECTION)
        if term["name"] in TRANSAMINASES:
            groups.append(GROUP_TRANSAMINASES)
        term["groups"] = sorted(groups)
    return sorted(terms, key=lambda term: (term["name"].casefold(), term["name"]))


def build_groups() -> list[GroupRecord]:
    groups: list[GroupRecord] = [
        {
            "name": spec["name"],
            "soc": spec["soc"],
            "covers_members": spec["covers_members"],
            "synonyms": _sorted_unique(spec["synonyms"], excluding=spec["name"]),
            "lay": _sorted_unique(LAY_PHRASES.get(spec["name"], [])),
        }
        for spec in GROUPS
    ]
    return sorted(groups, key=lambda group: group["name"].casefold())


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------


def validate(
    terminology: Terminology, ctcae_rows: Sequence[tuple[str, str, str]]
) -> dict[str, str]:
    """Raise TerminologyError on any broken invariant; return the name index."""
    terms = terminology["terms"]
    groups = terminology["groups"]
    socs = {soc for _, soc, _ in ctcae_rows}

    all_names = [record["name"] for record in [*terms, *groups]]
    if len(set(all_names)) != len(all_names):
        raise TerminologyError("two terms or groups share a display name")

    # Names and synonyms of terms and groups: one owner per comparison key.
    owner_of: dict[str, str] = {}
    owners: list[tuple[str, list[str]]] = [
        (f"term {term['name']}", [term["name"], *term["synonyms"]]) for term in terms
    ]
    owners += [(f"group {group['name']}", [group["name"], *group["synonyms"]]) for group in groups]
    for owner, names in owners:
        for name in names:
            key = normalise(name)
            previous = owner_of.setdefault(key, owner)
            if previous != owner:
                raise TerminologyError(f"{name!r} names both {previous} and {owner}")

    for owner, lay_phrases in [(f"term {t['name']}", t["lay"]) for t in terms] + [
        (f"group {g['name']}", g["lay"]) for g in groups
    ]:
        for phrase in lay_phrases:
            named = owner_of.get(normalise(phrase))
            if named is not None and named != owner:
                raise TerminologyError(f"lay phrase {phrase!r} of {owner} names {named}")

    for record in [*terms, *groups]:
        if record["soc"] not in socs:
            raise TerminologyError(f"{record['name']}: unknown SOC {record['soc']!r}")

    by_code = {
        term["meddra_code"]: term
        for term in terms
        if term["source"] == SOURCE_CTCAE and term["meddra_code"] is not None
    }
    if len(by_code) != CTCAE_ROW_COUNT:
        raise TerminologyError(f"{len(by_code)} CTCAE terms, expected {CTCAE_ROW_COUNT}")
    for code, soc, ctcae_name in ctcae_rows:
        term = by_code.get(code)
        if term is None or term["ctcae_name"] != ctcae_name:
            raise TerminologyError(f"CTCAE row {code} {ctcae_name!r} is not represented")
        if term["soc"] != DISPLAY_SOC.get(term["name"], soc):
            raise TerminologyError(f"CTCAE row {code} {ctcae_name!r}: SOC {term['soc']!r}")
        if term["name"] != ctcae_name and ctcae_name not in term["synonyms"]:
            raise TerminologyError(f"{term['name']}: CTCAE name {ctcae_name!r} not a synonym")

    if len(SEED_PROFESSIONAL_ENTRIES) != SEED_PROFESSIONAL_ENTRY_COUNT:
        raise TerminologyError("the seed label's professional entry list is incomplete")
    seed_group_keys = {normalise(name) for name in SEED_GROUP_ENTRIES}
    for entry in (*SEED_PROFESSIONAL_ENTRIES, *SEED_COVERED_TERMS):
        key = normalise(entry)
        expected = "group " if key in seed_group_keys else "term "
        coded_to = owner_of.get(key)
        if coded_to is None or not coded_to.startswith(expected):
            raise TerminologyError(f"seed label entry {entry!r} codes to {coded_to or 'nothing'}")

    members = {group["name"]: 0 for group in groups}
    for term in terms:
        for group_name in term["groups"]:
            members[group_name] += 1
    if members.get(GROUP_TRANSAMINASES) != len(TRANSAMINASES):
        raise TerminologyError("Transaminases increased must group exactly ALT and AST")
    if any(count == 0 for count in members.values()):
        raise TerminologyError(f"empty group: {members}")
    return owner_of


def build(csv_path: Path) -> Terminology:
    ctcae_rows = read_ctcae(csv_path)
    terminology: Terminology = {
        "version": FORMAT_VERSION,
        "groups": build_groups(),
        "terms": build_terms(ctcae_rows),
    }
    validate(terminology, ctcae_rows)
    return terminology


def render(terminology: Terminology) -> str:
    return json.dumps(terminology, indent=1, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "csv",
        nargs="?",
        type=Path,
        default=DEFAULT_CSV,
        help="CTCAE v5.0 CSV (MedDRA Code, MedDRA SOC, CTCAE Term)",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON to write")
    args = parser.parse_args(argv)
    csv_path: Path = args.csv
    output: Path = args.output
    try:
        terminology = build(csv_path)
    except (OSError, KeyError, TerminologyError) as error:
        print(f"build_terminology: {error}", file=sys.stderr)
        return 1
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render(terminology), encoding="utf-8")
    counts = {group["name"]: 0 for group in terminology["groups"]}
    for term in terminology["terms"]:
        for group_name in term["groups"]:
            counts[group_name] += 1
    print(f"{len(terminology['terms'])} terms, groups {counts} -> {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
