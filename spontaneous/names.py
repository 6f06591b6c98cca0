"""Product names as spontaneous databases write them, reduced to a key that two writings of
one product share.

Reporters write a product by brand or generic name, with its salt, its strength, a trailing
full stop, a WHO drug code in slashes ("ACYCLOVIR /00587301/") or, in FAERS' active
ingredient column, several ingredients separated by backslashes. The key keeps what names
the active moiety and drops, conservatively, what does not:

- case, accents, spacing and punctuation, as term keys do (reference.normalize);
- strengths: a number with a unit ("10 mg", "100MG/ML", "5 %", "1,000 IU");
- salt and hydrate words after the moiety ("CLOPIDOGREL BISULFATE", "ESOMEPRAZOLE
  MAGNESIUM"); a name made of salt words only ("SODIUM BICARBONATE", "POTASSIUM CHLORIDE")
  keeps them all, and salt words before the moiety stay ("MAGNESIUM OXIDE" is not "OXIDE").
  Esters and different molecules stay apart ("FLUTICASONE PROPIONATE", "ISOSORBIDE
  MONONITRATE", "HALOPERIDOL DECANOATE").

Ingredients of a combination (separated by backslashes, "+" or a slash between names) are
keyed alone, then sorted and joined with "+", so the order they are written in does not
matter. No Django import: the benchmark uses it alone.
"""

import re
from functools import lru_cache

from reference.normalize import normalize

# Counter-ions and hydrates that do not change which medicine a name means.
SALT_WORDS = frozenset(
    {
        "anhydrous",
        "besilate",
        "besylate",
        "bicarbonate",
        "bisulfate",
        "bitartrate",
        "bromide",
        "calcium",
        "carbonate",
        "chloride",
        "citrate",
        "dihydrate",
        "dihydrochloride",
        "dimesylate",
        "dipotassium",
        "disodium",
        "edisylate",
        "embonate",
        "fumarate",
        "gluconate",
        "hcl",
        "hemifumarate",
        "hemihydrate",
        "hemitartrate",
        "hydrobromide",
        "hydrochloride",
        "hyclate",
        "lactate",
        "magnesium",
        "malate",
        "maleate",
        "mesilate",
        "mesylate",
        "monohydrate",
        "monosodium",
        "oxalate",
        "pamoate",
        "phosphate",
        "potassium",
        "sesquihydrate",
        "sodium",
        "succinate",
        "sulfate",
        "tartrate",
        "tosylate",
        "trihydrate",
        "tromethamine",
    }
)

_NUMBER = r"\d+(?:[.,]\d+)*"
_UNIT = (
    r"(?:mg|mcg|µg|μg|ug|microgram|micrograms|milligram|milligrams|g|gm|gram|grams|kg|ng"
    r"|ml|l|iu|units?|meq|mmol|%|percent)"
)
# A strength: a number and its unit, optionally "per" an amount ("100MG/ML", "5 mg/5 ml").
_STRENGTH = re.compile(
    rf"(?<![\w.,]){_NUMBER}\s*{_UNIT}(?:\s*/\s*(?:{_NUMBER}\s*)?(?:ml|l|g|mg|dose|actuation|h|hr"
    r"|hour|hours|day|tablet|tab|spray))?(?!\w)",
    re.IGNORECASE,
)
# A WHO drug dictionary code some reporters append in slashes ("COMPAZINE /00013302/").
_DRUG_CODE = re.compile(r"/\s*\d{5,}\s*/")
# Ingredients of a combination: FAERS separates them with backslashes; reporters also write
# "+" or a slash between names ("TRIMETHOPRIM/SULFAMETHOXAZOLE", not "70/30").
_INGREDIENTS = re.compile(r"\\|\+|(?<=[^\W\d_])\s*/\s*(?=[^\W\d_])")


def _ingredient_key(text: str) -> str:
    words = normalize(text).split()
    moiety_seen = False
    kept: list[str] = []
    for word in words:
        if moiety_seen and word in SALT_WORDS:
            continue
        kept.append(word)
        moiety_seen = moiety_seen or word not in SALT_WORDS
    if not moiety_seen:
        kept = words  # salt words only: they are the product
    return "".join(kept)


@lru_cache(maxsize=65536)
def product_key(text: str) -> str:
    """The key a product name is stored and matched under; empty when it has no letter or
    digit. Applied alike to reported names and to the formulary's names and brands."""
    text = _STRENGTH.sub(" ", _DRUG_CODE.sub(" ", text))
    keys = {_ingredient_key(part) for part in _INGREDIENTS.split(text)}
    keys.discard("")
    return "+".join(sorted(keys))
