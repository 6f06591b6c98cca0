"""The identifiers of E2B(R3): namespaces, OIDs of the ICH code lists and id roots, and the
product's values in each list."""

HL7 = "urn:hl7-org:v3"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
NS = {"h": HL7, "xsi": XSI}
SCHEMA_LOCATION = (
    "urn:hl7-org:v3 https://www.accessdata.fda.gov/icsr/schema/cvm/schemas/vich/"
    "multicacheschemas/MCCI_IN200100UV01.xsd"
)

_ICH = "2.16.840.1.113883.3.989.2.1"
# Id roots (2.16.840.1.113883.3.989.2.1.3.n).
ROOT_C11 = f"{_ICH}.3.1"  # C.1.1 and N.2.r.1
ROOT_C81 = f"{_ICH}.3.2"  # C.1.8.1
ROOT_N2R2 = f"{_ICH}.3.11"
ROOT_N2R3 = f"{_ICH}.3.12"
ROOT_N13 = f"{_ICH}.3.13"
ROOT_N14 = f"{_ICH}.3.14"
ROOT_N12 = f"{_ICH}.3.22"
# Code lists (2.16.840.1.113883.3.989.2.1.1.n).
CS_MESSAGE_TYPE = f"{_ICH}.1.1"
CS_REPORT_TYPE = f"{_ICH}.1.2"
CS_FIRST_SENDER = f"{_ICH}.1.3"
CS_NULLIFICATION = f"{_ICH}.1.5"
CS_QUALIFICATION = f"{_ICH}.1.6"
CS_SENDER_TYPE = f"{_ICH}.1.7"
CS_OUTCOME = f"{_ICH}.1.11"
CS_DRUG_ROLE = f"{_ICH}.1.13"
CS_OBSERVATION = f"{_ICH}.1.19"
CS_ORGANIZER = f"{_ICH}.1.20"
CS_RELATED = f"{_ICH}.1.22"
CS_CHARACTERISTIC = f"{_ICH}.1.23"
CS_MEDDRA = "2.16.840.1.113883.6.163"
CS_COUNTRY = "1.0.3166.1.2.2"
CS_SEX = "1.0.5218"
CS_NCI = "2.16.840.1.113883.3.26.1.1"
CS_FDA_REPORT_TYPE = "2.16.840.1.113883.3.989.5.1.2.2.1.1.1"
CS_FDA_INTERVENTION = "2.16.840.1.113883.3.989.5.1.2.2.1.3"
CS_DOSE_FORM = "0.4.0.127.0.16.1.1.2.1"
HL7_INTERACTION = "2.16.840.1.113883.1.6"
HL7_TRIGGER = "2.16.840.1.113883.1.18"
HL7_ACT_CODE = "2.16.840.1.113883.5.4"

FDA_RECEIVER = "ZZFDA"
FDA_MESSAGE_RECEIVER = "CDER"

# E.i.3.2a-f: the observation code of each seriousness criterion (in CS_OBSERVATION).
SERIOUSNESS_CODES = {
    "death": "34",
    "life_threatening": "21",
    "hospitalization": "33",
    "disability": "35",
    "congenital_anomaly": "12",
    "other_medically_important": "26",
}
SERIOUSNESS_NAMES = {
    "34": "resultsInDeath",
    "21": "isLifeThreatening",
    "33": "requiresInpatientHospitalization",
    "35": "resultsInPersistentOrSignificantDisability",
    "12": "congenitalAnomalyBirthDefect",
    "26": "otherMedicallyImportantCondition",
}
# E.i.7.
OUTCOME_CODES = {
    "unknown": "0",
    "recovered": "1",
    "recovering": "2",
    "not_recovered": "3",
    "recovered_with_sequelae": "4",
    "fatal": "5",
}
OUTCOME_NAMES = {
    "0": "unknown",
    "1": "recovered/resolved",
    "2": "recovering/resolving",
    "3": "not recovered/not resolved/ongoing",
    "4": "recovered/resolved with sequelae",
    "5": "fatal",
}
# C.2.r.4: E2B has no nurse; a nurse is another health professional.
QUALIFICATION_CODES = {
    "physician": "1",
    "pharmacist": "2",
    "nurse": "3",
    "other_hcp": "3",
    "consumer": "5",
}
QUALIFICATION_FROM_CODE = {
    "1": "physician",
    "2": "pharmacist",
    "3": "other_hcp",
    "4": "other_hcp",
    "5": "consumer",
}
SEX_CODES = {"male": "1", "female": "2"}
SEX_FROM_CODE = {"1": "male", "2": "female"}
ROLE_SUSPECT, ROLE_CONCOMITANT, ROLE_INTERACTING, ROLE_NOT_GIVEN = "1", "2", "3", "4"
ROUTE_TEXT = {
    "intravenous": "Intravenous",
    "subcutaneous": "Subcutaneous",
    "intramuscular": "Intramuscular",
    "oral": "Oral",
    "other": "Other",
}
# D.2.2b units (UCUM) in years.
AGE_UNIT_YEARS = {"a": 1.0, "10.a": 10.0, "mo": 1 / 12, "wk": 7 / 365.25, "d": 1 / 365.25}
AGE_UNIT_YEARS["h"] = 1 / (365.25 * 24)
# Dose units written as doseQuantity (UCUM); any other dose stays as text only.
DOSE_UNITS = {"mg", "g", "ug", "ng", "mL", "L", "mg/m2", "ug/m2", "mg/kg", "ug/kg", "[iU]"}
DOSE_UNIT_SPELLINGS = {"mcg": "ug", "µg": "ug", "ml": "mL", "iu": "[iU]", "mg/m²": "mg/m2"}
