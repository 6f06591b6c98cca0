"""Spelling-insensitive keys for term names.

Two writings of one name get the same key whatever their case, hyphens,
punctuation, spacing or British/American spelling. No Django import, so the
search index and the benchmarks can use it alone.
"""

import re
import unicodedata
from functools import lru_cache

_WORD = re.compile(r"[a-z0-9]+")

# Whole-word British forms that no general rule below turns into the American form.
_WORDS = {
    "tumour": "tumor",
    "tumours": "tumors",
    "colour": "color",
    "behaviour": "behavior",
    "odour": "odor",
    "leucopenia": "leukopenia",
    "leucocytosis": "leukocytosis",
    "leucocyte": "leukocyte",
    "leucocytes": "leukocytes",
    "sulphate": "sulfate",
    "aluminium": "aluminum",
    "coeliac": "celiac",
    "faeces": "feces",
    "foetal": "fetal",
    "manoeuvre": "maneuver",
    "centre": "center",
    "litre": "liter",
    "programme": "program",
}


@lru_cache(maxsize=8192)
def _american(word: str) -> str:
    word = _WORDS.get(word, word)
    # haemorrhage, anaemia, leukaemia, ischaemia, paediatric, caecum ... -> hem, anem, ...
    if len(word) > 3 and "ae" in word[1:]:
        word = word[0] + word[1:].replace("ae", "e")
    # oedema, oesophagus, oestrogen -> edema, esophagus, estrogen
    if word.startswith("oe") and len(word) > 3:
        word = "e" + word[2:]
    # diarrhoea, dyspnoea, apnoea, amenorrhoea -> diarrhea, dyspnea, ...
    if "oea" in word:
        word = word.replace("oea", "ea")
    return word


def normalize(text: str) -> str:
    """The matching key of a name: lower case, American spelling, single spaces, no punctuation."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return " ".join(_american(w) for w in _WORD.findall(folded))


def compact(key: str) -> str:
    """A key with its spaces removed, so that "intra abdominal" meets "intraabdominal"."""
    return key.replace(" ", "")
