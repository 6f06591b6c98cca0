"""FAERS at its real size: synthetic quarterly extracts, imported and analysed on PostgreSQL.

    python bench/faers.py [--quarters 4] [--scale 1.0] [--seed 20261202] [--write-only]
                          [--out var/bench-faers] [--no-vigipy] [--profile] [--timeout 3600]

1. Writes synthetic quarters in the current FAERS layout (2012Q4 on), as FDA publishes
   them: one zip a quarter with ascii/DEMOyyQq.txt, DRUGyyQq.txt, REACyyQq.txt and
   OUTCyyQq.txt (`$`-separated, latin-1, a header line), and from the second quarter on a
   DELETE list (Deleted/DELETEyyQq.txt, one caseid a line, no header). At --scale 1 a
   quarter holds 450,000 reports, 1.5 million drug rows and 1.3 million reaction rows, the
   size of a 2018-2024 quarter. The quarters are 2023Q1, 2023Q2, ... and are written once
   per seed and scale (var/bench-faers/), then reused.
2. On PostgreSQL (DATABASE_URL; the database is emptied of spontaneous data first, and
   created and migrated when it does not exist), imports the quarters one after another
   with the product's `import_faers`, each in a fresh process (wall time and the process's
   peak resident memory, resource.getrusage), and after 1, 2 and 4 quarters computes every
   product-event pair's statistics with the MGPS fit, end to end from the database
   (spontaneous.tables.source_statistics, in a fresh process). Beside it, vigipy's GPS on
   the same 2x2 counts, run in var/bench-venv as bench/disproportionality.py runs it.
3. Prints cost per report at 1, 2 and 4 quarters, the extrapolation to all of FAERS (about
   20 million de-duplicated cases) and whether the targets are met: one quarter imported in
   under 3 minutes with a peak under 2 GB; the statistics of 4 quarters in under 60 s.

What the quarters hold (seeded, deterministic: the same seed and scale write the same bytes):
- Products: some 12,000 active ingredients and two-ingredient combinations (prod_ai, FAERS
  spells a combination "A\\B"), a third with a salt form ("... HYDROCHLORIDE"), brand names;
  drugname is free text (brand, generic in any case, with a strength, a dose form or a
  trailing dot); prod_ai is left empty on 5% of rows, as in FDA's files. About 20,000
  product spellings in all. Popularity falls off like Zipf's law.
- Events: about 8,000 MedDRA-style preferred-term names (the commonest FAERS terms first,
  then the product's shipped terminology, then composed names), Zipf-like popularity; with
  probability 0.15 an event is one of five tied to the report's primary suspect drug (the
  true signals the statistics should find).
- A report names 1 + a geometric number of drugs (mean 3.3; the first is the primary
  suspect PS, then SS, C or I) and 1 + a geometric number of reactions (mean 2.9); 55% have
  outcome codes (OT, HO, DE, LT, DS, RI, CA).
- Case versions: from the second quarter on, 15% of a quarter's reports are new versions of
  cases from earlier quarters (higher caseversion, later fda_dt, new drugs and reactions); a
  quarter's DELETE list names 0.4% as many cases as it has reports, four in five from
  earlier quarters, the others never loaded. The manifest beside the zips gives, for each
  number of quarters loaded, how many cases de-duplication must keep.

One script kept whole, past the 400 lines product modules keep to: it is one experiment,
read from top to bottom, and nothing imports it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "bench-faers"
VENV = ROOT / "var" / "bench-venv"
VIGIPY = "vigipy==3.5.1"
SEED = 20261202
FIRST_YEAR = 2023
CHUNK = 50_000  # reports generated and written at a time; part of what the seed means

# At --scale 1, one quarter.
REPORTS = 450_000
DRUGS_PER_REPORT = 1_500_000 / REPORTS
REACTIONS_PER_REPORT = 1_300_000 / REPORTS
FOLLOW_UP_SHARE = 0.15
DELETE_SHARE = 0.004
DELETE_UNKNOWN_SHARE = 0.2
TIED_SHARE = 0.15
INGREDIENTS = 10_500
COMBINATIONS = 1_500
EVENTS = 8_000

DEMO_COLUMNS = (
    "primaryid$caseid$caseversion$i_f_code$event_dt$mfr_dt$init_fda_dt$fda_dt$rept_cod$auth_num"
    "$mfr_num$mfr_sndr$lit_ref$age$age_cod$age_grp$sex$e_sub$wt$wt_cod$rept_dt$to_mfr$occp_cod"
    "$reporter_country$occr_country"
)
DRUG_COLUMNS = (
    "primaryid$caseid$drug_seq$role_cod$drugname$prod_ai$val_vbm$route$dose_vbm$cum_dose_chr"
    "$cum_dose_unit$dechal$rechal$lot_num$exp_dt$nda_num$dose_amt$dose_unit$dose_form$dose_freq"
)
REAC_COLUMNS = "primaryid$caseid$pt$drug_rec_act"
OUTC_COLUMNS = "primaryid$caseid$outc_cod"


# --- names --------------------------------------------------------------------------------

ONSETS = [
    "a", "ab", "ac", "al", "am", "ar", "ba", "be", "bi", "bo", "bri", "ca", "ce", "ci", "cla",
    "co", "cri", "da", "de", "di", "do", "du", "e", "el", "en", "es", "fa", "fe", "fi", "flu",
    "fo", "ga", "ge", "gli", "gra", "ha", "he", "i", "im", "in", "ka", "ke", "la", "le", "li",
    "lo", "lu", "ma", "me", "mi", "mo", "na", "ne", "ni", "no", "o", "ob", "ol", "pa", "pe",
    "pi", "pla", "po", "pra", "pro", "qui", "ra", "re", "ri", "ro", "ru", "sa", "se", "si",
    "so", "su", "ta", "te", "ti", "to", "tra", "tri", "u", "va", "ve", "vi", "vo", "xa", "ze",
    "zo",
]  # fmt: skip
MIDDLES = [
    "", "", "b", "ba", "ce", "d", "de", "fi", "ga", "l", "la", "li", "lo", "m", "me", "mi", "n",
    "na", "ne", "no", "pi", "r", "ra", "re", "ro", "s", "sa", "t", "ta", "te", "ti", "to", "va",
    "x", "za", "zi",
]  # fmt: skip
STEMS = [
    "pril", "sartan", "olol", "statin", "mab", "zumab", "ximab", "umab", "tinib", "ciclib",
    "azole", "prazole", "cillin", "mycin", "floxacin", "oxetine", "apine", "idone", "dronate",
    "gliptin", "gliflozin", "parin", "vir", "navir", "tide", "glutide", "lukast", "setron",
    "triptan", "afil", "caine", "dipine", "semide", "thiazide", "pam", "zolam", "profen",
    "coxib", "sone", "olone", "asone", "platin", "rubicin", "taxel", "kinra", "cept",
    "ferase", "plase", "stim", "poetin", "lisib", "rafenib", "parib", "degib", "mide",
    "barb", "terol", "tropium", "dralazine", "vastatin", "conazole", "fungin", "quine",
]  # fmt: skip
SALTS = [
    "HYDROCHLORIDE", "SODIUM", "POTASSIUM", "MESYLATE", "MALEATE", "TARTRATE", "SUCCINATE",
    "BESYLATE", "CITRATE", "SULFATE", "FUMARATE", "ACETATE", "CALCIUM", "PHOSPHATE",
    "BROMIDE", "DIHYDRATE", "HYDROCHLORIDE MONOHYDRATE", "DISODIUM", "HYCLATE",
]  # fmt: skip
STRENGTHS = [
    "0.5 MG", "1 MG", "2.5 MG", "5 MG", "10 MG", "20 MG", "25 MG", "40 MG", "50 MG", "100 MG",
    "200 MG", "250 MG", "500 MG", "1000 MG", "10 MG/ML", "40 MG/0.8 ML", "100 UNITS/ML",
    "5MG", "10MG", "20MG", "2 G",
]  # fmt: skip
FORMS = [
    "TABLETS", "TABLET", "CAPSULES", "INJECTION", "ORAL SOLUTION", "TABS", "CAPS", "PEN",
    "PREFILLED SYRINGE", "FILM-COATED TABLET", "EXTENDED RELEASE", "CREAM", "INHALER",
]  # fmt: skip
# The commonest preferred terms of FAERS quarters, commonest first (MedDRA names, as FDA
# publishes them), so the head of the distribution reads like a real quarter.
COMMON_EVENTS = [
    "Drug ineffective", "Off label use", "Fatigue", "Nausea", "Death", "Headache",
    "Diarrhoea", "Pain", "Dyspnoea", "Product dose omission issue", "Dizziness",
    "Inappropriate schedule of product administration", "Malaise", "Vomiting", "Rash",
    "Arthralgia", "Pruritus", "Condition aggravated", "Pneumonia", "Asthenia", "Fall",
    "Pyrexia", "Insomnia", "Cough", "Weight decreased", "Abdominal pain", "Anxiety",
    "Back pain", "Pain in extremity", "Hypertension", "Depression", "Product use issue",
    "Injection site pain", "Drug hypersensitivity", "Blood pressure increased",
    "Hypersensitivity", "Weight increased", "Oedema peripheral", "Urinary tract infection",
    "Decreased appetite", "Constipation", "Chest pain", "Alopecia", "Myalgia",
    "Abdominal discomfort", "Feeling abnormal", "Hospitalisation", "Gait disturbance",
    "Anaemia", "COVID-19", "Muscle spasms", "Tremor", "Paraesthesia", "Somnolence",
    "Hypoaesthesia", "Confusional state", "Memory impairment", "Erythema",
    "Therapeutic product effect incomplete", "Intentional product use issue", "Infection",
    "Drug interaction", "Peripheral swelling", "Vision blurred", "Nasopharyngitis",
    "Influenza", "Sinusitis", "Contusion", "Dehydration", "Seizure", "Syncope",
    "Cerebrovascular accident", "Myocardial infarction", "Atrial fibrillation",
    "Acute kidney injury", "Platelet count decreased", "Neutropenia", "Thrombocytopenia",
    "Sepsis", "Urticaria", "Hyperhidrosis", "Palpitations", "Stress", "Loss of consciousness",
    "Gastrooesophageal reflux disease", "Dry mouth", "Dysphagia", "Dry skin", "Swelling",
    "Joint swelling", "Psoriasis", "Blood glucose increased", "Product prescribing error",
    "Illness", "Mobility decreased", "Haemoglobin decreased", "Skin exfoliation",
    "Hypotension", "Chills", "Tachycardia", "Heart rate increased", "Bronchitis",
]  # fmt: skip
ANALYTES = [
    "Alanine aminotransferase", "Aspartate aminotransferase", "Blood alkaline phosphatase",
    "Blood bilirubin", "Blood creatinine", "Blood urea", "Blood glucose", "Blood potassium",
    "Blood sodium", "Blood calcium", "Blood magnesium", "Blood phosphorus", "Blood uric acid",
    "Blood cholesterol", "Blood triglycerides", "Blood lactate dehydrogenase",
    "Blood creatine phosphokinase", "Blood thyroid stimulating hormone", "Blood insulin",
    "Blood testosterone", "Blood iron", "Blood albumin", "Blood pressure", "Body temperature",
    "Heart rate", "Respiratory rate", "Oxygen saturation", "Haemoglobin", "Haematocrit",
    "Platelet count", "White blood cell count", "Neutrophil count", "Lymphocyte count",
    "Eosinophil count", "Monocyte count", "Red blood cell count", "Reticulocyte count",
    "Prothrombin time", "International normalised ratio",
    "Activated partial thromboplastin time", "Fibrin D dimer", "C-reactive protein",
    "Procalcitonin", "Troponin", "Brain natriuretic peptide",
    "Glycosylated haemoglobin", "Gamma-glutamyltransferase", "Lipase", "Amylase", "Ammonia",
    "Ferritin", "Vitamin D", "Vitamin B12", "Folate", "Serum ferritin", "Urine protein",
    "Protein urine", "Glomerular filtration rate", "Ejection fraction", "Electrocardiogram QT",
    "Intraocular pressure", "Bone density", "Weight", "Blood cortisol", "Blood prolactin",
    "Immunoglobulins", "CD4 lymphocytes", "Viral load", "Tumour marker", "Hepatic enzyme",
]  # fmt: skip
ANALYTE_CHANGES = ["increased", "decreased", "abnormal", "fluctuation"]
SITES = [
    "Abdominal", "Anal", "Axillary", "Back", "Breast", "Buttock", "Chest wall", "Ear", "Eye",
    "Eyelid", "Facial", "Finger", "Foot", "Gingival", "Groin", "Hand", "Head", "Injection site",
    "Infusion site", "Application site", "Administration site", "Implant site", "Catheter site",
    "Vaccination site", "Stoma site", "Joint", "Knee", "Hip", "Shoulder", "Elbow", "Wrist",
    "Ankle", "Neck", "Jaw", "Lip", "Mouth", "Tongue", "Nasal", "Oral", "Pelvic", "Penile",
    "Vulvovaginal", "Scrotal", "Skin", "Scalp", "Toe", "Tooth", "Throat", "Oropharyngeal",
    "Musculoskeletal", "Muscle", "Bone", "Spinal", "Limb", "Arm", "Leg", "Thigh", "Calf",
    "Periorbital", "Perineal", "Rectal", "Umbilical", "Nipple", "Flank", "Sacral", "Temporal",
    "Epigastric", "Suprapubic", "Retrosternal", "Submandibular", "Parotid", "Palatal",
    "Pharyngeal", "Laryngeal", "Tracheal", "Oesophageal", "Gastric", "Duodenal", "Ileal",
    "Colonic", "Hepatic", "Splenic", "Pancreatic", "Renal", "Bladder", "Urethral", "Uterine",
    "Ovarian", "Testicular", "Prostatic", "Adrenal", "Thyroid", "Pituitary", "Cerebral",
    "Cerebellar", "Spinal cord", "Retinal", "Conjunctival", "Corneal", "Vitreous", "Pericardial",
    "Pleural", "Pulmonary", "Bronchial", "Mediastinal", "Peritoneal", "Retroperitoneal",
    "Intracranial", "Subdural", "Subarachnoid", "Intraventricular", "Vaginal", "Cervical",
    "Lymph node", "Vascular", "Arterial", "Venous",
]  # fmt: skip
FINDINGS = [
    "pain", "swelling", "erythema", "haemorrhage", "haematoma", "oedema", "discomfort",
    "pruritus", "rash", "infection", "abscess", "ulcer", "injury", "mass", "cyst", "disorder",
    "inflammation", "necrosis", "induration", "nodule", "reaction", "bruising", "discolouration",
    "hypersensitivity", "irritation", "fibrosis", "atrophy", "neoplasm", "stenosis",
    "perforation", "fistula", "calcification", "hypertrophy", "paraesthesia", "warmth",
    "spasm", "lesion", "deformity", "hypoaesthesia", "dryness", "scar", "exfoliation",
    "blister", "papule", "numbness",
]  # fmt: skip
BRAND_ENDINGS = ["a", "ex", "ia", "on", "ra", "ix", "ol", "is", "ent", "ara"]
ORGANS = [
    "Hepatic", "Renal", "Cardiac", "Respiratory", "Adrenal", "Bone marrow", "Ovarian",
    "Thyroid", "Pancreatic", "Pituitary", "Intestinal", "Gastric", "Pulmonary", "Multiple organ",
    "Ventricular", "Atrial", "Coronary artery", "Cerebral", "Spinal", "Peripheral nerve",
    "Optic nerve", "Vestibular", "Cochlear", "Lymphatic", "Biliary", "Gallbladder",
]  # fmt: skip
STATES = [
    "failure", "impairment", "insufficiency", "disorder", "injury", "infarction", "fibrosis",
    "necrosis", "ischaemia", "neoplasm", "cyst", "abscess", "atrophy", "enlargement",
    "dysfunction", "toxicity", "function test abnormal", "haemorrhage", "thrombosis",
    "embolism", "rupture", "lesion", "calcification", "congestion", "oedema",
]  # fmt: skip
ORGANISMS = [
    "Bacterial", "Viral", "Fungal", "Staphylococcal", "Streptococcal", "Pneumococcal",
    "Pseudomonas", "Escherichia", "Klebsiella", "Clostridium difficile", "Candida",
    "Aspergillus", "Cytomegalovirus", "Herpes zoster", "Herpes simplex", "Influenza",
    "Respiratory syncytial virus", "Enterococcal", "Mycobacterial", "Pneumocystis jirovecii",
    "Cryptococcal", "Listeria", "Salmonella", "Hepatitis B", "Hepatitis C", "Epstein-Barr virus",
    "BK virus", "JC virus", "Adenovirus", "Norovirus",
]  # fmt: skip
INFECTIONS = [
    "infection", "sepsis", "pneumonia", "bacteraemia", "reactivation", "meningitis",
    "colitis", "endocarditis", "skin infection", "urinary tract infection",
]  # fmt: skip
MFR_SENDERS = [
    "PFIZER", "JANSSEN", "NOVARTIS", "AMGEN", "ABBVIE", "MERCK", "ROCHE", "SANOFI", "BAYER",
    "TEVA", "MYLAN", "SANDOZ", "LILLY", "GILEAD", "BRISTOL MYERS SQUIBB", "ASTRAZENECA",
    "GLAXOSMITHKLINE", "TAKEDA", "BOEHRINGER INGELHEIM", "NOVO NORDISK", "FDA-CTU",
]  # fmt: skip
COUNTRIES = [
    "US", "US", "US", "US", "US", "US", "GB", "CA", "DE", "FR", "JP", "IT", "ES", "BR", "CN",
    "AU", "NL", "IN", "CO", "AR", "PL", "SE", "CH", "BE", "KR", "MX",
]  # fmt: skip
ROUTES = ["Oral", "Oral", "Oral", "Intravenous", "Subcutaneous", "Unknown", "Topical", ""]
OUTCOMES = ["OT", "HO", "DE", "LT", "DS", "RI", "CA"]
OUTCOME_WEIGHTS = [0.55, 0.25, 0.10, 0.04, 0.03, 0.02, 0.01]
# A product of the shipped formulary among the made-up ones, so that some products link.
FORMULARY = ("INOTUZUMAB OZOGAMICIN", "BESPONSA")


def made_up_words(rng: np.random.Generator, count: int, stems: list[str]) -> list[str]:
    """Distinct pronounceable words: an onset, a middle and an ending."""
    words: dict[str, None] = {}
    while len(words) < count:
        n = 2 * (count - len(words))
        onset = rng.integers(0, len(ONSETS), n)
        middle = rng.integers(0, len(MIDDLES), n)
        stem = rng.integers(0, len(stems), n)
        for i, j, k in zip(onset.tolist(), middle.tolist(), stem.tolist(), strict=True):
            word = ONSETS[i] + MIDDLES[j] + stems[k]
            if len(word) >= 6:
                words[word] = None
                if len(words) == count:
                    break
    return list(words)


def shipped_term_names() -> list[str]:
    """The preferred names of the product's shipped terminology (so some events link)."""
    path = ROOT / "reference" / "data" / "terminology.json"
    if not path.exists():
        return []
    data = json.loads(path.read_text())
    return [t["name"] for t in data.get("terms", []) if "specify" not in t["name"]]


@dataclass(frozen=True)
class Vocabulary:
    """Everything a quarter draws from: the product spellings and the event names."""

    drugname: NDArray[Any]  # per spelling (object array of str)
    prod_ai: NDArray[Any]  # per spelling
    spelling_key: NDArray[np.float64]  # product index + cumulative weight within its product
    product_weight: NDArray[np.float64]  # per product, sums to 1
    product_name: list[str]
    event_names: NDArray[Any]
    event_weight: NDArray[np.float64]
    tied: NDArray[np.int64]  # per product, five events reported with it more often


def vocabulary(seed: int) -> Vocabulary:
    rng = np.random.default_rng([seed, 0])
    ingredients = [w.upper() for w in made_up_words(rng, INGREDIENTS - 1, STEMS)]
    ingredients.insert(49, FORMULARY[0])
    brand_words = [
        w.upper()
        for w in made_up_words(
            rng, 14_000, [m + e for m in ("", "v", "r", "l", "x", "qu") for e in BRAND_ENDINGS]
        )
    ]
    # Combinations of popular-ish ingredients, as FAERS spells them in prod_ai.
    popular = rng.integers(0, INGREDIENTS // 4, size=(COMBINATIONS, 2))
    popular[:, 1] = (popular[:, 0] + 1 + popular[:, 1] % (INGREDIENTS // 4 - 1)) % (
        INGREDIENTS // 4
    )
    products = ingredients + [f"{ingredients[i]}\\{ingredients[j]}" for i, j in popular]
    combo_names = [f"{ingredients[i]} AND {ingredients[j]}" for i, j in popular]

    drugnames: list[str] = []
    prod_ais: list[str] = []
    keys: list[float] = []
    brand_at = 0
    for p, name in enumerate(products):
        combo = p >= INGREDIENTS
        generic = combo_names[p - INGREDIENTS] if combo else name
        salt = (not combo) and rng.random() < 0.33
        salted = f"{name} {SALTS[int(rng.integers(0, len(SALTS)))]}" if salt else name
        brands = int(rng.integers(0, 3)) + (1 if combo else 0)
        if name == FORMULARY[0]:
            names = [FORMULARY[1]]
        else:
            names = brand_words[brand_at : brand_at + brands]
            brand_at += brands
        # (drugname, prod_ai, weight); prod_ai empty on a few rows, as FDA leaves it.
        spellings: list[tuple[str, str, float]] = [
            (generic, name, 4.0),
            (generic.title(), salted, 1.0),
            (f"{generic} {STRENGTHS[int(rng.integers(0, len(STRENGTHS)))]}", salted, 1.0),
            (f"{generic} {FORMS[int(rng.integers(0, len(FORMS)))]}", name, 0.5),
            (f"{generic}.", name, 0.3),
            (generic, "", 0.3),
        ]
        for brand in names:
            spellings.append((brand, salted, 3.0))
            spellings.append(
                (f"{brand} {STRENGTHS[int(rng.integers(0, len(STRENGTHS)))]}", "", 0.2)
            )
            spellings.append((brand.title() + "\xae", name, 0.05))  # "Brand®", latin-1
        weights = np.array([w for *_, w in spellings])
        cumulative = np.cumsum(weights) / weights.sum()
        for (drugname, prod_ai, _), c in zip(spellings, cumulative, strict=True):
            drugnames.append(drugname)
            prod_ais.append(prod_ai)
            keys.append(p + float(c))
    keys[-1] = len(products)  # exactly the end, whatever the rounding

    product_weight = rng.permutation(1 / (np.arange(len(products)) + 5.0) ** 1.1)
    product_weight /= product_weight.sum()

    names = event_name_list(rng)
    common = len(COMMON_EVENTS)
    tail = rng.permutation(np.arange(common, len(names)))
    order = np.r_[np.arange(common), tail]
    event_weight = np.empty(len(names))
    event_weight[order] = 1 / (np.arange(len(names)) + 10.0)
    event_weight /= event_weight.sum()
    tied = rng.integers(0, len(names), size=(len(products), 5))
    return Vocabulary(
        drugname=np.array(drugnames, dtype=object),
        prod_ai=np.array(prod_ais, dtype=object),
        spelling_key=np.array(keys),
        product_weight=product_weight,
        product_name=products,
        event_names=np.array(names, dtype=object),
        event_weight=event_weight,
        tied=tied.astype(np.int64),
    )


def event_name_list(rng: np.random.Generator) -> list[str]:
    """EVENTS distinct preferred-term names, the commonest FAERS terms first."""
    names: dict[str, None] = dict.fromkeys(COMMON_EVENTS)
    for name in shipped_term_names():
        names.setdefault(name, None)
    composed = (
        [f"{a} {c}" for a in ANALYTES for c in ANALYTE_CHANGES]
        + [f"{s} {f}" for s in SITES for f in FINDINGS]
        + [f"{o} {s}" for o in ORGANS for s in STATES]
        + [f"{a} {o.lower()} {s}" for a in ("Acute", "Chronic") for o in ORGANS for s in STATES]
        + [f"{o} {i}" for o in ORGANISMS for i in INFECTIONS]
    )
    for i in rng.permutation(len(composed)).tolist():
        if len(names) >= EVENTS:
            break
        names.setdefault(composed[i], None)
    return list(names)[:EVENTS]


# --- cases across quarters ----------------------------------------------------------------


def quarter_name(index: int) -> tuple[str, str]:
    """("23Q1", "2023q1") for quarter 0."""
    year, quarter = FIRST_YEAR + index // 4, index % 4 + 1
    return f"{year % 100:02d}Q{quarter}", f"{year}q{quarter}"


def new_cases(index: int, reports: int) -> int:
    return reports if index == 0 else reports - round(FOLLOW_UP_SHARE * reports)


def first_caseid(index: int) -> int:
    return 20_000_000 + index * 1_000_000


def first_version(caseids: NDArray[np.int64]) -> NDArray[np.int64]:
    """The version a case first appears with (a quarter carries some cases at version 2 or 3,
    their earlier versions being in quarters not loaded); later quarters add to it."""
    h = (caseids * 2654435761) % 2**32
    return 1 + ((h >> 7) % 10 < 3).astype(np.int64) + ((h >> 11) % 10 < 1).astype(np.int64)


@dataclass(frozen=True)
class QuarterCases:
    caseid: NDArray[np.int64]
    version: NDArray[np.int64]
    follow_up: NDArray[np.bool_]
    deleted: NDArray[np.int64]  # its DELETE list
    deleted_known: int  # of which loaded by earlier quarters


def quarter_cases(index: int, reports: int, seed: int) -> list[QuarterCases]:
    """The case ids and versions of quarters 0..index, and their DELETE lists.

    Follow-ups are drawn from the cases of earlier quarters not yet deleted; deletions from
    the earlier cases not followed up in the same quarter. A case's version is its first
    version plus the quarters since it first appeared, so a later quarter always carries a
    higher version.
    """
    out: list[QuarterCases] = []
    deleted: set[int] = set()
    for k in range(index + 1):
        rng = np.random.default_rng([seed, k, 1])
        fresh = np.arange(first_caseid(k), first_caseid(k) + new_cases(k, reports), dtype=np.int64)
        earlier = (
            np.concatenate(
                [
                    np.arange(first_caseid(j), first_caseid(j) + new_cases(j, reports))
                    for j in range(k)
                ]
            )
            if k
            else np.empty(0, np.int64)
        )
        if deleted:
            earlier = earlier[~np.isin(earlier, np.fromiter(deleted, np.int64))]
        follow = rng.choice(earlier, reports - fresh.size, replace=False) if k else earlier
        caseid = np.r_[fresh, follow].astype(np.int64)
        started = (caseid - 20_000_000) // 1_000_000
        version = first_version(caseid) + (k - started)
        gone = np.empty(0, np.int64)
        known = 0
        if k:
            candidates = earlier[~np.isin(earlier, follow)]
            n = round(DELETE_SHARE * reports)
            known = n - round(DELETE_UNKNOWN_SHARE * n)
            picked = rng.choice(candidates, known, replace=False)
            never = rng.choice(np.arange(9_000_000, 9_900_000), n - known, replace=False)
            gone = np.sort(np.r_[picked, never]).astype(np.int64)
            deleted.update(picked.tolist())
        order = rng.permutation(caseid.size)  # FDA's files are not in case order
        out.append(
            QuarterCases(
                caseid=caseid[order],
                version=version[order],
                follow_up=(np.arange(caseid.size) >= fresh.size)[order],
                deleted=gone,
                deleted_known=known,
            )
        )
    return out


def expected_kept(quarters: list[QuarterCases]) -> int:
    """Cases de-duplication keeps after loading these quarters in order."""
    seen: set[int] = set()
    for q in quarters:
        seen.update(q.caseid.tolist())
        seen.difference_update(q.deleted.tolist())
    return len(seen)


# --- writing one quarter ------------------------------------------------------------------


def draw_counts(rng: np.random.Generator, n: int, mean: float, cap: int) -> NDArray[np.int64]:
    """1 + a geometric number with the given mean, capped: most reports are short."""
    extra = rng.geometric(1 / mean, n) - 1
    return np.asarray(1 + np.minimum(extra, cap - 1), dtype=np.int64)


def dates(rng: np.random.Generator, n: int, year: int, quarter: int) -> NDArray[Any]:
    """YYYYMMDD strings within a quarter."""
    month = 3 * (quarter - 1) + rng.integers(1, 4, n)
    day = rng.integers(1, 29, n)
    return np.char.mod("%d", year * 10_000 + month * 100 + day).astype(object)


def strings(values: NDArray[Any]) -> list[str]:
    return list(map(str, values.tolist()))


def write_quarter(
    index: int, cases: QuarterCases, vocab: Vocabulary, seed: int, path: Path
) -> dict[str, Any]:
    """Write quarter `index` as FDA's zip; return its counts."""
    short, _ = quarter_name(index)
    year, quarter = FIRST_YEAR + index // 4, index % 4 + 1
    tmp = path.with_suffix(".part")
    counts = {"reports": 0, "drug_rows": 0, "reaction_rows": 0, "outcome_rows": 0}
    spellings_seen = np.zeros(vocab.drugname.size, dtype=np.bool_)
    product_cumulative = np.cumsum(vocab.product_weight)
    event_cumulative = np.cumsum(vocab.event_weight)
    # A zip takes one member at a time: each table is streamed to its own file first.
    members = {
        kind: path.with_name(f"{kind}{short}.txt") for kind in ("DEMO", "DRUG", "REAC", "OUTC")
    }
    files = {kind: member.open("wb") for kind, member in members.items()}
    try:
        for kind, header in (
            ("DEMO", DEMO_COLUMNS),
            ("DRUG", DRUG_COLUMNS),
            ("REAC", REAC_COLUMNS),
            ("OUTC", OUTC_COLUMNS),
        ):
            files[kind].write((header + "\n").encode("latin-1"))
        for chunk, start in enumerate(range(0, cases.caseid.size, CHUNK)):
            rng = np.random.default_rng([seed, index, 2, chunk])
            stop = min(start + CHUNK, cases.caseid.size)
            caseid = cases.caseid[start:stop]
            version = cases.version[start:stop]
            n = caseid.size
            caseid_s = strings(caseid)
            primaryid_s = [c + v for c, v in zip(caseid_s, strings(version), strict=True)]

            demo = demo_lines(
                rng, caseid_s, primaryid_s, version, cases.follow_up[start:stop], year, quarter
            )
            files["DEMO"].write(demo)

            # Drugs: the first is the primary suspect.
            per_report = draw_counts(rng, n, DRUGS_PER_REPORT, 60)
            report = np.repeat(np.arange(n), per_report)
            first = np.r_[0, np.cumsum(per_report)[:-1]]
            seq = np.arange(report.size) - first[report]
            product = np.searchsorted(
                product_cumulative, rng.random(report.size) * product_cumulative[-1]
            )
            product = np.minimum(product, vocab.product_weight.size - 1)
            spelling = np.searchsorted(vocab.spelling_key, product + rng.random(report.size))
            spellings_seen[spelling] = True
            role = np.where(
                seq == 0,
                0,
                np.searchsorted([0.25, 0.97], rng.random(report.size), side="right") + 1,
            )
            files["DRUG"].write(
                drug_lines(rng, report, seq, role, spelling, vocab, caseid_s, primaryid_s)
            )

            # Reactions: Zipf-like, some tied to the primary suspect (the signals to find).
            reactions = draw_counts(rng, n, REACTIONS_PER_REPORT, 80)
            reaction_report = np.repeat(np.arange(n), reactions)
            event = np.searchsorted(
                event_cumulative, rng.random(reaction_report.size) * event_cumulative[-1]
            )
            event = np.minimum(event, vocab.event_weight.size - 1)
            tied = rng.random(event.size) < TIED_SHARE
            primary = product[first][reaction_report[tied]]
            event[tied] = vocab.tied[primary, rng.integers(0, 5, int(tied.sum()))]
            files["REAC"].write(
                lines(
                    [primaryid_s[i] for i in reaction_report.tolist()],
                    [caseid_s[i] for i in reaction_report.tolist()],
                    vocab.event_names[event].tolist(),
                    [""] * event.size,
                )
            )

            # Outcomes: 55% of reports, 1 + Poisson(0.3) distinct codes.
            with_outcome = np.flatnonzero(rng.random(n) < 0.55)
            how_many = 1 + np.minimum(rng.poisson(0.3, with_outcome.size), 3)
            outcome_report = np.repeat(with_outcome, how_many)
            code = rng.choice(len(OUTCOMES), outcome_report.size, p=OUTCOME_WEIGHTS)
            key = np.unique(outcome_report * 8 + code)
            outcome_report, code = key // 8, key % 8
            files["OUTC"].write(
                lines(
                    [primaryid_s[i] for i in outcome_report.tolist()],
                    [caseid_s[i] for i in outcome_report.tolist()],
                    np.array(OUTCOMES, dtype=object)[code].tolist(),
                )
            )
            counts["reports"] += n
            counts["drug_rows"] += int(report.size)
            counts["reaction_rows"] += int(event.size)
            counts["outcome_rows"] += int(outcome_report.size)
    finally:
        for handle in files.values():
            handle.close()
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        # Fixed member dates: the same seed writes the same bytes.
        stamp = (year, 3 * quarter, 28, 0, 0, 0)
        for member in members.values():
            info = zipfile.ZipInfo(f"ascii/{member.name}", date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            with member.open("rb") as source, archive.open(info, "w", force_zip64=True) as target:
                shutil.copyfileobj(source, target, 2**20)
            member.unlink()
        if cases.deleted.size:
            info = zipfile.ZipInfo(f"Deleted/DELETE{short}.txt", date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, "".join(f"{c}\n" for c in cases.deleted.tolist()))
    tmp.replace(path)
    counts["spellings"] = int(spellings_seen.sum())
    counts["product_names"] = len(
        {
            p or d
            for p, d in zip(
                vocab.prod_ai[spellings_seen].tolist(),
                vocab.drugname[spellings_seen].tolist(),
                strict=True,
            )
        }
    )
    counts["deleted_listed"] = int(cases.deleted.size)
    counts["deleted_known"] = cases.deleted_known
    counts["follow_ups"] = int(cases.follow_up.sum())
    return counts


def lines(*columns: list[str]) -> bytes:
    return ("".join("$".join(row) + "\n" for row in zip(*columns, strict=True))).encode("latin-1")


def pick(
    rng: np.random.Generator, values: list[str], n: int, p: list[float] | None = None
) -> list[str]:
    chosen: list[str] = np.array(values, dtype=object)[rng.choice(len(values), n, p=p)].tolist()
    return chosen


def demo_lines(
    rng: np.random.Generator,
    caseid: list[str],
    primaryid: list[str],
    version: NDArray[np.int64],
    follow_up: NDArray[np.bool_],
    year: int,
    quarter: int,
) -> bytes:
    n = len(caseid)
    fda_dt = dates(rng, n, year, quarter).tolist()
    earlier_year = np.where(follow_up, year - 1 - rng.integers(0, 3, n), year)
    init_fda_dt = [
        f if first else e
        for f, e, first in zip(
            fda_dt,
            np.char.mod(
                "%d", earlier_year * 10_000 + rng.integers(1, 13, n) * 100 + rng.integers(1, 29, n)
            ).tolist(),
            ~follow_up & (version == 1),
            strict=True,
        )
    ]
    expedited = rng.random(n) < 0.7
    sender = pick(rng, MFR_SENDERS, n)
    country = pick(rng, COUNTRIES, n)
    mfr_num = [
        f"{c}-{s}-{year}{i}" if e else ""
        for c, s, i, e in zip(country, sender, caseid, expedited.tolist(), strict=True)
    ]
    age = rng.integers(0, 95, n)
    has_age = rng.random(n) < 0.6
    weight = rng.integers(3, 140, n)
    has_weight = rng.random(n) < 0.25
    return lines(
        primaryid,
        caseid,
        strings(version),
        ["I" if v == 1 else "F" for v in version.tolist()],
        pick(rng, ["", "", f"{year - 1}", f"{year}0{quarter}", f"{year}0{quarter}15"], n),
        [f if e else "" for f, e in zip(fda_dt, expedited.tolist(), strict=True)],
        init_fda_dt,
        fda_dt,
        np.where(expedited, "EXP", np.where(rng.random(n) < 0.8, "PER", "DIR"))
        .astype(object)
        .tolist(),
        [""] * n,
        mfr_num,
        [s if e else "" for s, e in zip(sender, expedited.tolist(), strict=True)],
        [""] * n,
        [str(a) if h else "" for a, h in zip(age.tolist(), has_age.tolist(), strict=True)],
        ["YR" if h else "" for h in has_age.tolist()],
        pick(rng, ["", "", "A", "E", "T", "C", "N", "I"], n),
        pick(rng, ["F", "M", ""], n, [0.55, 0.35, 0.10]),
        ["Y"] * n,
        [str(w) if h else "" for w, h in zip(weight.tolist(), has_weight.tolist(), strict=True)],
        ["KG" if h else "" for h in has_weight.tolist()],
        fda_dt,
        [""] * n,
        pick(
            rng,
            ["MD", "CN", "HP", "PH", "LW", "OT", ""],
            n,
            [0.25, 0.4, 0.15, 0.08, 0.02, 0.05, 0.05],
        ),
        country,
        country,
    )


def drug_lines(
    rng: np.random.Generator,
    report: NDArray[np.int64],
    seq: NDArray[np.int64],
    role: NDArray[np.int64],
    spelling: NDArray[np.int64],
    vocab: Vocabulary,
    caseid: list[str],
    primaryid: list[str],
) -> bytes:
    n = report.size
    rows = report.tolist()
    dose = rng.integers(1, 500, n)
    has_dose = rng.random(n) < 0.4
    return lines(
        [primaryid[i] for i in rows],
        [caseid[i] for i in rows],
        strings(seq + 1),
        np.array(["PS", "SS", "C", "I"], dtype=object)[role].tolist(),
        vocab.drugname[spelling].tolist(),
        vocab.prod_ai[spelling].tolist(),
        pick(rng, ["1", "1", "1", "2"], n),
        pick(rng, ROUTES, n),
        [f"{d} MG, QD" if h else "" for d, h in zip(dose.tolist(), has_dose.tolist(), strict=True)],
        [""] * n,
        [""] * n,
        pick(rng, ["U", "U", "Y", "N", "D", ""], n),
        pick(rng, ["U", "U", "Y", "N", ""], n),
        [""] * n,
        [""] * n,
        strings(rng.integers(10_000, 999_999, n)),
        [str(d) if h else "" for d, h in zip(dose.tolist(), has_dose.tolist(), strict=True)],
        ["MG" if h else "" for h in has_dose.tolist()],
        pick(rng, ["TABLET", "CAPSULE", "INJECTION", "SOLUTION", ""], n),
        pick(rng, ["QD", "BID", "TID", "QW", ""], n),
    )


def write_quarters(quarters: int, scale: float, seed: int, out: Path) -> dict[str, Any]:
    """Write (or reuse) the quarters; return the manifest."""
    reports = max(10, round(REPORTS * scale))
    folder = out / f"seed{seed}-scale{scale:g}"
    folder.mkdir(parents=True, exist_ok=True)
    manifest_path = folder / "manifest.json"
    manifest: dict[str, Any] = (
        json.loads(manifest_path.read_text()) if manifest_path.exists() else {"quarters": {}}
    )
    all_cases = quarter_cases(quarters - 1, reports, seed)
    vocab: Vocabulary | None = None
    for index in range(quarters):
        _, long = quarter_name(index)
        path = folder / f"faers_ascii_{long}.zip"
        entry = manifest["quarters"].get(long)
        if path.exists() and entry is not None:
            continue
        if vocab is None:
            started = time.perf_counter()
            vocab = vocabulary(seed)
            print(
                f"  vocabulary: {len(vocab.product_name):,} products in {vocab.drugname.size:,} "
                f"spellings, {vocab.event_names.size:,} events "
                f"({time.perf_counter() - started:.1f} s)",
                flush=True,
            )
        started = time.perf_counter()
        counts = write_quarter(index, all_cases[index], vocab, seed, path)
        counts["write_s"] = time.perf_counter() - started
        counts["zip_mb"] = path.stat().st_size / 2**20
        counts["kept_after"] = expected_kept(all_cases[: index + 1])
        manifest["quarters"][long] = counts
        manifest_path.write_text(json.dumps(manifest, indent=2))
        print(
            f"  wrote {shown(path)}: {counts['reports']:,} reports, "
            f"{counts['drug_rows']:,} drug rows, {counts['reaction_rows']:,} reaction rows, "
            f"{counts['outcome_rows']:,} outcome rows, {counts['follow_ups']:,} follow-ups, "
            f"DELETE list {counts['deleted_listed']:,}; {counts['product_names']:,} product "
            f"names; {counts['zip_mb']:.0f} MB in {counts['write_s']:.1f} s",
            flush=True,
        )
    manifest["folder"] = str(folder)
    manifest["paths"] = [
        str(folder / f"faers_ascii_{quarter_name(i)[1]}.zip") for i in range(quarters)
    ]
    return manifest


# --- one measured step, in its own process ------------------------------------------------


def peak_mb() -> float:
    """The process's peak resident set so far (ru_maxrss is in kB on Linux)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    """CPU seconds of this process so far (user and system); not the database server's."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def backend_cpu_seconds() -> float:
    """CPU seconds so far of the PostgreSQL backend serving this process's connection, from
    /proc (the server on this machine); nan where it cannot be read. With the process's own
    CPU, what a step costs whatever else the machine is doing."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def django_setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def profiled(call: Any, profile: Path | None) -> Any:
    """The call's result; with a path, the call runs under cProfile and its 30 costliest
    functions (cumulative time) are written there."""
    if profile is None:
        return call()
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    result = profiler.runcall(call)
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(30)
    profile.write_text(text.getvalue())
    return result


class StepClock:
    """Told each step of an import as it advances (the service's progress callback): when
    each step was first and last heard of, so the time between steps is seen as well."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.steps: list[list[Any]] = []  # [step, first heard, last heard]

    def __call__(self, step: str, done: int, total: int | None) -> None:
        now = time.perf_counter()
        if not self.steps or self.steps[-1][0] != step:
            self.steps.append([step, now, now])
        self.steps[-1][2] = now

    def segments(self, ended: float) -> list[tuple[str, float]]:
        """(what, seconds) in order: each step, and the gaps before, between and after."""
        out: list[tuple[str, float]] = []
        last = self.started
        for step, first, final in self.steps:
            if first - last > 0.05:
                out.append((f"before {step}", first - last))
            out.append((step, final - first))
            last = final
        out.append(("after the last step (commit included)", ended - last))
        return out


def child_import(path: str, profile: Path | None) -> dict[str, Any]:
    """The product's FAERS import service (what import_faers runs) on one quarter, timed step
    by step through its progress callback."""
    django_setup()
    from spontaneous.faers import quarter_open
    from spontaneous.faers_load import faers_import

    server = backend_cpu_seconds()
    cpu = cpu_seconds()
    clock = StepClock()
    result = profiled(
        lambda: faers_import(quarter=quarter_open(Path(path)), progress=clock), profile
    )
    ended = time.perf_counter()
    return {
        "seconds": ended - clock.started,
        "cpu": cpu_seconds() - cpu,
        "server_cpu": backend_cpu_seconds() - server,
        "peak_mb": peak_mb(),
        "steps": clock.segments(ended),
        "summary": result.summary,
    }


def child_statistics(table: Path, profile: Path | None) -> dict[str, Any]:
    """Every pair's statistics of the FAERS source, from the database, with the MGPS fit
    (the first call after an import fits and stores the prior; a second call reads it); the
    2x2 counts are saved for vigipy."""
    django_setup()
    from core.db import statement_timeout
    from spontaneous.models import CaseReport, CaseReportPair, Source
    from spontaneous.tables import source_statistics

    source = Source.objects.get(slug="faers")
    server = backend_cpu_seconds()
    cpu = cpu_seconds()
    started = time.perf_counter()
    # As at the end of an import: no web request's statement time limit.
    with statement_timeout(0):
        result = profiled(lambda: source_statistics(source), profile)
        seconds = time.perf_counter() - started
        cpu = cpu_seconds() - cpu
        server = backend_cpu_seconds() - server
        peak = peak_mb()
        started = time.perf_counter()
        source_statistics(source)
        again = time.perf_counter() - started
    stats = result.statistics
    a, b, c, d = (np.asarray(getattr(stats, cell), dtype=np.int64) for cell in "abcd")
    events = np.asarray(result.event_ids, dtype=np.int64)
    eb05 = np.asarray(stats.values["eb05"], dtype=np.float64)
    np.savez(
        table,
        a=a,
        b=b,
        c=c,
        d=d,
        drug=np.asarray(result.product_ids, dtype=np.int64),
        event=events,
        n_total=int(result.n_reports),
        events_total=int(events.max()) + 1 if events.size else 1,
        eb05=eb05,
    )
    return {
        "seconds": seconds,
        "cpu": cpu,
        "server_cpu": server,
        "again_seconds": again,
        "peak_mb": peak,
        "n_reports": int(result.n_reports),
        "pairs": int(a.size),
        "pair_rows": CaseReportPair.objects.filter(report__source=source).count(),
        "live_cases": CaseReport.objects.filter(source=source, deleted_by__isnull=True).count(),
        "eb05_2": int((eb05 >= 2).sum()),
        "prior": list(result.prior.theta) if result.prior is not None else None,
    }


def child_vigipy(table: Path) -> dict[str, Any]:
    """vigipy's GPS (its own prior fit and posterior) on the saved counts, as
    bench/disproportionality.py runs it; only in var/bench-venv."""
    sys.path.insert(0, str(ROOT))
    from bench.disproportionality import run_vigipy

    with np.load(table) as loaded:
        counts = {name: loaded[name] for name in loaded.files}
    seconds, memory, saved = run_vigipy("mgps", counts, 1, None)
    eb05 = saved["eb05"]
    ours = counts["eb05"] >= 2
    theirs = eb05 >= 2
    return {
        "seconds": seconds,
        **memory,
        "eb05_2": int(theirs.sum()),
        "both": int((ours & theirs).sum()),
        "prior": [float(x) for x in saved["theta"]],
    }


def child(args: argparse.Namespace) -> None:
    kind, *rest = args.child
    profile = Path(args.profile_out) if args.profile_out else None
    if kind == "import":
        result = child_import(rest[0], profile)
    elif kind == "statistics":
        result = child_statistics(Path(rest[0]), profile)
    else:
        result = child_vigipy(Path(rest[0]))
    print(json.dumps(result))


# --- the run ------------------------------------------------------------------------------


def vigipy_python() -> Path:
    """var/bench-venv's python (the product and vigipy), created as
    bench/disproportionality.py creates it the first time."""
    python = VENV / "bin" / "python"
    marker = VENV / f".installed-{VIGIPY}"
    if not marker.exists():
        print(f"Creating {VENV} with the product and {VIGIPY} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        pip = [str(python), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, "--upgrade", "pip"], check=True)
        subprocess.run([*pip, "-e", str(ROOT), VIGIPY], check=True)
        marker.touch()
    return python


def measure(
    python: Path | str,
    env: dict[str, str],
    timeout: float,
    *child_args: str,
    profile: Path | None = None,
) -> dict[str, Any]:
    """Run one step in a fresh process; its wall time seen from outside as well."""
    command = [str(python), __file__, "--child", *child_args]
    if profile is not None:
        command += ["--profile-out", str(profile)]
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return {
            "failed": f"not finished after {timeout:.0f} s",
            "wall": time.perf_counter() - started,
        }
    wall = time.perf_counter() - started
    if done.returncode != 0:
        return {"failed": done.stderr[-3000:], "wall": wall}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall"] = wall
    return result


def database_env(url: str) -> dict[str, str]:
    from bench.harness import server_env

    return {**server_env(url), "DJANGO_SETTINGS_MODULE": "config.settings", "PYTHONPATH": str(ROOT)}


def fresh_database(env: dict[str, str]) -> float:
    """Drop, create and migrate the benchmark's database; the seconds migrate took."""
    from bench.harness import ensure_database, manage

    ensure_database(env["DATABASE_URL"], fresh=True)
    started = time.perf_counter()
    manage(env, "migrate", "--no-input")
    return time.perf_counter() - started


def run(args: argparse.Namespace, manifest: dict[str, Any]) -> bool:
    url = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/pv_h6"
    env = database_env(url)
    timeout = os.environ.get("DATABASE_STATEMENT_TIMEOUT", "15 (the product's default)")
    print(
        f"\nDatabase {url.rsplit('/', 1)[1]}: dropped, created, migrated; statement timeout "
        f"{timeout} s (DATABASE_STATEMENT_TIMEOUT, 0 for none) ...",
        flush=True,
    )
    print(f"  migrate {fresh_database(env):.1f} s", flush=True)
    python = None if args.no_vigipy else vigipy_python()
    folder = Path(manifest["folder"])
    quarters = sorted(manifest["quarters"])[: args.quarters]
    imports: list[dict[str, Any]] = []
    statistics: dict[int, dict[str, Any]] = {}
    vigipy: dict[int, dict[str, Any]] = {}
    checkpoints = {n for n in (1, 2, 4) if n <= args.quarters} | {args.quarters}
    for n, (long, path) in enumerate(zip(quarters, manifest["paths"], strict=False), start=1):
        expected = manifest["quarters"][long]
        profile = folder / f"profile-import-{long}.txt" if args.profile else None
        result = measure(sys.executable, env, args.timeout, "import", path, profile=profile)
        result["quarter"] = long
        result["reports"] = expected["reports"]
        imports.append(result)
        if "failed" in result:
            print(
                f"  import {long}: FAILED ({result['wall']:.0f} s)\n{result['failed']}", flush=True
            )
            break
        print(
            f"  import {long}: {result['seconds']:7.1f} s (CPU: the process "
            f"{result['cpu']:.1f} s, its PostgreSQL backend {result['server_cpu']:.1f} s), "
            f"peak {result['peak_mb']:6.0f} MB "
            f"({expected['reports'] / result['seconds']:,.0f} reports/s)",
            flush=True,
        )
        steps = ", ".join(f"{what} {seconds:.1f}" for what, seconds in result["steps"])
        print(f"      steps (s): {steps}")
        summary = result["summary"]
        print(
            "      "
            + ", ".join(
                f"{key} {summary[key]:,}"
                for key in ("read", "kept", "new", "superseded", "deleted", "pairs")
                if key in summary
            )
        )
        if n not in checkpoints:
            continue
        table = folder / f"counts-{n}q.npz"
        profile = folder / f"profile-statistics-{n}q.txt" if args.profile else None
        stats = measure(
            sys.executable, env, args.timeout, "statistics", str(table), profile=profile
        )
        statistics[n] = stats
        if "failed" in stats:
            print(f"  statistics over {n} quarters: FAILED\n{stats['failed']}", flush=True)
            continue
        kept = expected["kept_after"]
        print(
            f"  statistics over {n} quarter(s): {stats['seconds']:7.1f} s (CPU: the process "
            f"{stats['cpu']:.1f} s, PostgreSQL {stats['server_cpu']:.1f} s; again, the prior "
            f"stored: {stats['again_seconds']:.1f} s), peak "
            f"{stats['peak_mb']:6.0f} MB; {stats['n_reports']:,} reports, {stats['pairs']:,} "
            f"pairs ({stats['pair_rows']:,} pair rows), EB05 >= 2: {stats['eb05_2']:,}; "
            f"cases kept {stats['live_cases']:,} (de-duplication should keep {kept:,}: "
            f"{'right' if stats['live_cases'] == kept else 'WRONG'})",
            flush=True,
        )
        if python is not None:
            theirs = measure(python, env, args.timeout, "vigipy", str(table))
            vigipy[n] = theirs
            if "failed" in theirs:
                print(f"  vigipy GPS over {n} quarters: {theirs['failed'][-500:]}", flush=True)
            else:
                print(
                    f"  vigipy GPS on the same counts: {theirs['seconds']:7.1f} s (the counts "
                    f"given, no database), peak +{theirs['grown_mb']:.0f} MB; EB05 >= 2: "
                    f"{theirs['eb05_2']:,}, {theirs['both']:,} of them ours too",
                    flush=True,
                )
                print(priors_compared(table, stats["prior"], theirs["prior"]), flush=True)
    summary = {"imports": imports, "statistics": statistics, "vigipy": vigipy}
    (folder / "results.json").write_text(json.dumps(summary, indent=2, default=str))
    return conclude(imports, statistics, vigipy, manifest, args)


def priors_compared(table: Path, ours: list[float] | None, theirs: list[float]) -> str:
    """Each side's prior and its negative log-likelihood on the same counts, under the
    per-component truncation both fit (computed with scipy.stats, bench/disproportionality.py):
    the lower is the better fit."""
    from bench.disproportionality import naive_nll

    with np.load(table) as loaded:
        a, b, c, d = (loaded[name].astype(np.float64) for name in "abcd")
    e = (a + b) * (a + c) / (a + b + c + d)
    lines = []
    for name, theta in (("ours", ours), ("vigipy", theirs)):
        if theta is None:
            continue
        shown_theta = ", ".join(f"{x:.6g}" for x in theta)
        lines.append(
            f"      {name:6s} prior ({shown_theta}): -loglik {naive_nll(theta, a, e, True):,.1f} "
            f"(per-component truncation), {naive_nll(theta, a, e, False):,.1f} (whole mixture)"
        )
    return "\n".join(lines)


def conclude(
    imports: list[dict[str, Any]],
    statistics: dict[int, dict[str, Any]],
    vigipy: dict[int, dict[str, Any]],
    manifest: dict[str, Any],
    args: argparse.Namespace,
) -> bool:
    """Cost per report, the extrapolation to all of FAERS, and the targets."""
    done = [i for i in imports if "failed" not in i]
    measured_stats = {n: s for n, s in statistics.items() if "failed" not in s}
    print("\nCost per report")
    for i in done:
        print(
            f"  import {i['quarter']}: {1e6 * i['seconds'] / i['reports']:6.1f} us a report "
            f"read, peak {i['peak_mb']:.0f} MB"
        )
    for n, s in sorted(measured_stats.items()):
        theirs = vigipy.get(n, {})
        vigipy_text = (
            f"; vigipy GPS {1e6 * theirs['seconds'] / s['n_reports']:6.1f} us"
            if "seconds" in theirs
            else ""
        )
        print(
            f"  statistics, {n} quarter(s): {1e6 * s['seconds'] / s['n_reports']:6.1f} us a "
            f"report, {1e6 * s['seconds'] / s['pair_rows']:5.2f} us a pair row, "
            f"{1e6 * s['seconds'] / s['pairs']:5.2f} us a pair{vigipy_text}"
        )

    full = 20_000_000
    print(f"\nExtrapolation to all of FAERS (about {full:,} de-duplicated cases)")
    if done:
        per_report = sum(i["seconds"] for i in done) / sum(i["reports"] for i in done)
        quarters_2004 = 4 * 21
        print(
            f"  import: {1e6 * per_report:.1f} us a report read (mean of {len(done)} "
            f"quarter(s)); FAERS publishes {quarters_2004} quarters 2004-2024, some 28 million "
            f"reports read before de-duplication -> about {28e6 * per_report / 3600:.1f} h, "
            f"the last quarter's import taking {done[-1]['seconds']:.0f} s"
        )
    if len(measured_stats) >= 2:
        ns = sorted(measured_stats)
        x = np.array([measured_stats[n]["n_reports"] for n in ns], dtype=np.float64)
        y = np.array([measured_stats[n]["seconds"] for n in ns])
        rows = np.array([measured_stats[n]["pair_rows"] for n in ns], dtype=np.float64)
        # Wall time drifts with whatever else the machine runs; CPU time (of the process
        # and of its PostgreSQL backend) much less: both are fitted.
        cpu = np.array([measured_stats[n]["cpu"] + measured_stats[n]["server_cpu"] for n in ns])
        for name, values in (("wall time", y), ("CPU time", cpu)):
            slope, intercept = np.polyfit(x, values, 1)
            worst = float(np.max(np.abs(slope * x + intercept - values) / values))
            print(
                f"  statistics, {name}: t = {intercept:.2f} s + {1e6 * slope:.2f} us x reports "
                f"over {', '.join(f'{int(v):,}' for v in x)} reports "
                f"({', '.join(f'{v:.1f}' for v in values)} s); largest departure from the line "
                f"{worst:.0%}; at {full:,} reports about {intercept + slope * full:,.0f} s"
            )
        slope, intercept = np.polyfit(x, y, 1)
        rows_per_report = rows[-1] / x[-1]
        peak_per_report = (measured_stats[ns[-1]]["peak_mb"] - measured_stats[ns[0]]["peak_mb"]) / (
            x[-1] - x[0]
        )
        print(
            f"  at {full:,} reports ({rows_per_report:.2f} pair rows a report, "
            f"{full * rows_per_report / 1e6:.0f} million pair rows): peak memory about "
            f"{measured_stats[ns[-1]]['peak_mb'] + peak_per_report * (full - x[-1]):,.0f} MB "
            f"(growing {1e6 * peak_per_report:.0f} MB a million reports)"
        )
        vig = {n: v for n, v in vigipy.items() if "seconds" in v and n in measured_stats}
        if len(vig) >= 2:
            vx = np.array([measured_stats[n]["n_reports"] for n in sorted(vig)], dtype=np.float64)
            vy = np.array([vig[n]["seconds"] for n in sorted(vig)])
            vslope, vintercept = np.polyfit(vx, vy, 1)
            print(
                f"  vigipy GPS at {full:,} reports, the counts given: about "
                f"{vintercept + vslope * full:.0f} s"
            )

    print("\nTargets (2 cores)")
    met = True
    first = done[0] if done else None
    if first is not None:
        ok = first["seconds"] < 180
        met &= ok
        print(
            f"  one quarter imported in under 3 min: {first['seconds']:.0f} s, "
            f"{'met' if ok else 'NOT met'}"
        )
        ok = first["peak_mb"] < 2048
        met &= ok
        print(
            f"  its peak memory under 2 GB: {first['peak_mb']:.0f} MB, {'met' if ok else 'NOT met'}"
        )
    else:
        met = False
        print("  one quarter imported: NOT measured (the import failed)")
    four = measured_stats.get(4)
    if four is not None:
        ok = four["seconds"] < 60
        met &= ok
        print(
            f"  disproportionality over 4 quarters ({four['n_reports']:,} reports) under 60 s: "
            f"{four['seconds']:.1f} s, {'met' if ok else 'NOT met'}"
        )
    elif args.quarters >= 4:
        met = False
        print("  disproportionality over 4 quarters: NOT measured")
    return met


def shown(path: Path) -> str:
    """A path relative to the checkout when it is in it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quarters", type=int, default=4)
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the reports")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=WORK)
    parser.add_argument("--write-only", action="store_true", help="write the quarters, no more")
    parser.add_argument("--no-vigipy", action="store_true", help="leave out vigipy's GPS")
    parser.add_argument(
        "--profile", action="store_true", help="profile each step (cProfile, files beside the zips)"
    )
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per step")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    sys.path.insert(0, str(ROOT))
    print(
        f"FAERS at scale: load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs",
        flush=True,
    )
    print(
        f"Writing {args.quarters} quarters at scale {args.scale:g} (seed {args.seed})", flush=True
    )
    manifest = write_quarters(args.quarters, args.scale, args.seed, args.out)
    if args.write_only:
        return
    met = run(args, manifest)
    print(f"\nLoad average at the end: {os.getloadavg()[0]:.1f}")
    print("All targets met." if met else "Some targets NOT met.")
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
