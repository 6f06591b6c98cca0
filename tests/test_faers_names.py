"""Product keys: two writings of one product meet; different products stay apart."""

import pytest

from spontaneous.names import product_key


@pytest.mark.parametrize(
    ("written", "same_as"),
    [
        ("PREDNISONE.", "prednisone"),
        ("  Risperidone ", "RISPERIDONE"),
        ("ACYCLOVIR                          /00587301/", "Acyclovir"),
        ("ACETYLSALICYLIC ACID({=100 mg)", "acetylsalicylic acid"),
        ("Aspirin 81 mg", "ASPIRIN"),
        ("METHOTREXATE 2.5MG", "methotrexate"),
        ("HEPARIN 5,000 UNITS/ML", "heparin"),
        ("MORPHINE 10 MG/ML", "morphine"),
        ("ONDANSETRON 4 mg/5 ml", "ondansetron"),
        ("LIDOCAINE 5 %", "lidocaine"),
        ("LIDOCAINE 5%", "lidocaine"),
        ("VITAMIN D3 1,000 IU", "vitamin d3"),
        ("CLOPIDOGREL BISULFATE", "clopidogrel"),
        ("AMANTADINE HYDROCHLORIDE", "Amantadine"),
        ("SERTRALINE HCL", "sertraline"),
        ("ESOMEPRAZOLE MAGNESIUM", "esomeprazole"),
        ("ATORVASTATIN CALCIUM TRIHYDRATE", "atorvastatin"),
        ("MORPHINE SULPHATE", "morphine sulfate"),
        ("VALPROATE SODIUM", "valproate"),
        ("BUPROPION HYDROCHLORIDE SR", "bupropion SR"),
        ("co-trimoxazole", "COTRIMOXAZOLE"),
        ("AMOXICILLIN\\CLAVULANATE POTASSIUM", "CLAVULANATE POTASSIUM\\AMOXICILLIN"),
        ("GEMCITABINE\\GEMCITABINE HYDROCHLORIDE", "gemcitabine"),
        ("TRIMETHOPRIM/SULFAMETHOXAZOLE", "SULFAMETHOXAZOLE\\TRIMETHOPRIM"),
        ("Sulfamethoxazole + trimethoprim", "SULFAMETHOXAZOLE\\TRIMETHOPRIM"),
        ("Œstradiol", "estradiol"),
    ],
)
def test_writings_of_one_product_share_a_key(written, same_as):
    assert product_key(written) == product_key(same_as)
    assert product_key(written)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        # Salts only: the salt is the product.
        ("SODIUM BICARBONATE", "BICARBONATE"),
        ("SODIUM BICARBONATE", "SODIUM"),
        ("POTASSIUM CHLORIDE", "SODIUM CHLORIDE"),
        ("CALCIUM CARBONATE", "CALCIUM"),
        # A salt word before the moiety stays.
        ("MAGNESIUM OXIDE", "OXIDE"),
        ("MAGNESIUM HYDROXIDE", "ALUMINUM HYDROXIDE"),
        # Esters and different molecules.
        ("FLUTICASONE PROPIONATE", "FLUTICASONE FUROATE"),
        ("ISOSORBIDE MONONITRATE", "ISOSORBIDE DINITRATE"),
        ("HALOPERIDOL DECANOATE", "HALOPERIDOL"),
        # Numbers that belong to the name.
        ("VITAMIN B12", "VITAMIN B6"),
        ("COENZYME Q10", "COENZYME"),
        ("5-FLUOROURACIL", "FLUOROURACIL"),
        ("INSULIN 70/30", "INSULIN"),
        ("DEPO-PROVERA 150", "DEPO-PROVERA"),
        ("FACTOR VIII", "FACTOR IX"),
        # A combination is not its first ingredient.
        ("AMOXICILLIN\\CLAVULANATE POTASSIUM", "AMOXICILLIN"),
    ],
)
def test_different_products_keep_different_keys(one, other):
    assert product_key(one) != product_key(other)


def test_salts_and_strengths_are_all_that_goes():
    assert product_key("ALBUTEROL SULFATE\\IPRATROPIUM BROMIDE") == "albuterol+ipratropium"
    assert product_key("AMOXICILLIN 500 MG CAPSULE") == "amoxicillincapsule"
    assert product_key("SODIUM BICARBONATE") == "sodiumbicarbonate"


@pytest.mark.parametrize("text", ["", "   ", "---", ".", "/00587301/", "10 mg"])
def test_a_name_with_nothing_left_has_an_empty_key(text):
    assert product_key(text) == ""
