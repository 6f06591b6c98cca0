"""Spelling-insensitive keys for term names.

Two writings of one name get the same key whatever their case, hyphens,
punctuation, spacing, accents or British/American spelling. Letters and digits of
every script count: "тошнота" and "吐き気" have keys of their own, and a name with no
letter or digit at all ("?", "---") has an empty key, which names nothing. No Django
import, so the search index and the benchmarks can use it alone.
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


# Scripts whose accents writers often leave out ("é" is "e"; Russian writes "ё" as its
# plain letter, Greek capitals drop the tonos), and Arabic and Hebrew vowel points are
# optional. Elsewhere a mark changes the letter (the Japanese voicing mark makes "カ" "ガ";
# Indic vowel signs are the vowels), so it stays.
_ACCENT_FREE_SCRIPTS = ("LATIN", "GREEK", "CYRILLIC", "ARABIC", "HEBREW")
# Ligatures that NFKD keeps whole, written as two letters in British spelling (anaemia).
_LIGATURES = str.maketrans({"æ": "ae", "œ": "oe"})


def _words(text: str) -> list[str]:
    """The words of a text, case-folded and without optional accents: runs of letters,
    digits and the marks that belong to them; anything else separates words."""
    if text.isascii():
        return _WORD.findall(text.lower())
    words: list[str] = []
    word: list[str] = []
    drop_marks = False
    for char in unicodedata.normalize("NFKD", text.casefold().translate(_LIGATURES)):
        kind = unicodedata.category(char)[0]
        if kind == "M":
            if word and not drop_marks:
                word.append(char)
        elif kind == "L" or kind == "N":
            digit = unicodedata.digit(char, None)
            word.append(str(digit) if digit is not None else char)
            drop_marks = unicodedata.name(char, "").startswith(_ACCENT_FREE_SCRIPTS)
        elif word:
            words.append("".join(word))
            word = []
    if word:
        words.append("".join(word))
    return [unicodedata.normalize("NFC", w) for w in words]


def normalize(text: str) -> str:
    """The matching key of a name: case-folded, without optional accents, American
    spelling, single spaces, no punctuation."""
    return " ".join(_american(w) for w in _words(text))


def compact(key: str) -> str:
    """A key with its spaces removed, so that "intra abdominal" meets "intraabdominal"."""
    return key.replace(" ", "")


def name_key(text: str) -> str:
    """The key a name is stored and looked up under; empty when it has no letter or digit."""
    return compact(normalize(text))


def keyless_message(text: str) -> str:
    """Why a name with an empty key cannot name a term."""
    return f"{text!r} has no letter or digit, so it cannot name a term"
