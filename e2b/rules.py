"""The checks an ICSR passes before it leaves: the product's own rule set, drawn from FDA's
E2B(R3) data-element table and its rejection rules. Each rule has a number, named in every
message it gives, with the FDA rule it follows where FDA numbers one."""

import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from django.utils import timezone
from lxml import etree

from . import codes, conf
from .reader import TS

NS = codes.NS


@dataclass(frozen=True)
class Rule:
    number: str
    fda: str
    text: str


@dataclass(frozen=True)
class Problem:
    rule: Rule
    case: str
    message: str

    def __str__(self) -> str:
        fda = f", FDA {self.rule.fda}" if self.rule.fda else ""
        return f"[{self.rule.number}{fda}] {self.case}: {self.message}"

    def as_dict(self) -> dict[str, str]:
        return {
            "rule": self.rule.number,
            "fda_rule": self.rule.fda,
            "case": self.case,
            "message": self.message,
        }


REQUIRED = Rule("E2B-01", "", "Every mandatory element is present.")
LENGTH = Rule("E2B-02", "", "No element is longer than its maximum length.")
CODES = Rule("E2B-03", "", "Coded elements hold a value of their list.")
FUTURE = Rule("E2B-04", "", "No date is in the future.")
PRECISION = Rule("E2B-05", "", "Dates are as precise as their element requires.")
PAIRS = Rule("E2B-06", "R0029/R0030, R0075", "A number and its unit come together.")
MEDDRA = Rule("E2B-07", "", "One MedDRA version per ICSR, written N.N; codes of 8 digits.")
CASE_ID = Rule("E2B-08", "", "C.1.1 reads country-sender-number and equals C.1.8.1.")
RECEIVER = Rule("E2B-09", "R0004/R0006", "FDA batches go to ZZFDA and their messages to CDER.")
SENDER = Rule("E2B-10", "R0100", "Every message's sender is the batch sender.")
NULLIFY = Rule(
    "E2B-11", "R0101", "A first transmission is no nullification; a nullification has a reason."
)
SOURCE = Rule("E2B-12", "R0019/R0020/R0021", "A primary source with qualification and country.")
SUSPECT = Rule("E2B-13", "R0069", "At least one suspect or interacting drug.")
LANGUAGE = Rule("E2B-14", "R0058", "The reporter's words carry their language.")
EXPEDITED = Rule("E2B-15", "R0011/R0014/R0015", "C.1.7 is given and FDA.C.1.7.1 matches it.")
NEVER_FALSE = Rule("E2B-16", "", "C.1.9.1 and E.i.3.2a-f are true or a null flavour, never false.")
SCHEMA = Rule("E2B-17", "", "The batch is valid against the ICH XML schemas.")
RULES = [
    REQUIRED,
    LENGTH,
    CODES,
    FUTURE,
    PRECISION,
    PAIRS,
    MEDDRA,
    CASE_ID,
    RECEIVER,
    SENDER,
    NULLIFY,
    SOURCE,
    SUSPECT,
    LANGUAGE,
    EXPEDITED,
    NEVER_FALSE,
    SCHEMA,
]

_IE = "h:controlActProcess/h:subject/h:investigationEvent"
_PR = f"{_IE}/h:component/h:adverseEventAssessment/h:subject1/h:primaryRole"
_RX = f"{_PR}/h:subjectOf2/h:observation[h:code/@code='29']"
_DRUG = f"{_PR}/h:subjectOf2/h:organizer[h:code/@code='4']/h:component/h:substanceAdministration"
_DOSE = f"{_DRUG}/h:outboundRelationship2[@typeCode='COMP']/h:substanceAdministration"
_REPORTER = (
    f"{_IE}/h:outboundRelationship[h:priorityNumber/@value='1']/h:relatedInvestigation/"
    "h:subjectOf2/h:controlActEvent/h:author/h:assignedEntity"
)
_CHAR = f"{_IE}/h:subjectOf2/h:investigationCharacteristic"

# Data element, XPath of its value in a message (an attribute or an element's text).
MANDATORY = [
    ("N.2.r.1", "h:id/@extension"),
    ("N.2.r.2", "h:sender/h:device/h:id/@extension"),
    ("N.2.r.3", "h:receiver/h:device/h:id/@extension"),
    ("N.2.r.4", "h:creationTime/@value"),
    ("C.1.1", f"{_IE}/h:id[@root='{codes.ROOT_C11}']/@extension"),
    ("C.1.2", "h:controlActProcess/h:effectiveTime/@value"),
    ("C.1.3", f"{_CHAR}[h:code/@code='1']/h:value/@code"),
    ("C.1.4", f"{_IE}/h:effectiveTime/h:low/@value"),
    ("C.1.5", f"{_IE}/h:availabilityTime/@value"),
    ("C.1.6.1", f"{_IE}/h:component/h:observationEvent[h:code/@code='1']/h:value/@value"),
    ("C.1.7", f"{_IE}/h:component/h:observationEvent[h:code/@code='23']/h:value/@value"),
    ("FDA.C.1.7.1", f"{_IE}/h:component/h:observationEvent[h:code/@code='C54588']/h:value/@code"),
    ("C.1.8.1", f"{_IE}/h:id[@root='{codes.ROOT_C81}']/@extension"),
    (
        "C.1.8.2",
        f"{_IE}/h:outboundRelationship/h:relatedInvestigation[h:code/@code='1']/h:subjectOf2/"
        "h:controlActEvent/h:author/h:assignedEntity/h:code/@code",
    ),
    ("C.1.9.1", f"{_CHAR}[h:code/@code='2']/h:value/@nullFlavor"),
    ("C.2.r.4", f"{_REPORTER}/h:assignedPerson/h:asQualifiedEntity/h:code/@code"),
    ("C.2.r.3", f"{_REPORTER}/h:assignedPerson/h:asLocatedEntity/h:location/h:code/@code"),
    (
        "C.3.1",
        f"{_IE}/h:subjectOf1/h:controlActEvent/h:author/h:assignedEntity/h:code/@code",
    ),
    (
        "C.3.2",
        f"{_IE}/h:subjectOf1/h:controlActEvent/h:author/h:assignedEntity/"
        "h:representedOrganization/h:assignedEntity/h:representedOrganization/h:name/text()",
    ),
    ("D.1", f"{_PR}/h:player1/h:name/text()"),
    ("H.1", f"{_IE}/h:text/text()"),
]
# Each reaction and drug: element, XPath relative to it.
MANDATORY_REACTION = [
    ("E.i.1.1a", "h:value/h:originalText/text()"),
    ("E.i.2.1a", "h:value/@codeSystemVersion"),
    ("E.i.2.1b", "h:value/@code"),
    ("E.i.7", "h:outboundRelationship2/h:observation[h:code/@code='27']/h:value/@code"),
]
MAX_LENGTH = [
    ("N.2.r.1", "h:id/@extension", 100),
    ("N.2.r.2", "h:sender/h:device/h:id/@extension", 60),
    ("N.2.r.3", "h:receiver/h:device/h:id/@extension", 60),
    ("C.1.1", f"{_IE}/h:id[@root='{codes.ROOT_C11}']/@extension", 100),
    ("C.1.8.1", f"{_IE}/h:id[@root='{codes.ROOT_C81}']/@extension", 100),
    ("C.1.11.2", f"{_CHAR}[h:code/@code='4']/h:value/h:originalText/text()", 2000),
    (
        "C.2.r.2.1",
        f"{_REPORTER}/h:representedOrganization/h:assignedEntity/"
        "h:representedOrganization/h:name/text()",
        60,
    ),
    ("D.1", f"{_PR}/h:player1/h:name/text()", 60),
    ("D.2.2a", f"{_PR}/h:subjectOf2/h:observation[h:code/@code='3']/h:value/@value", 5),
    ("D.3", f"{_PR}/h:subjectOf2/h:observation[h:code/@code='7']/h:value/@value", 6),
    ("E.i.1.1a", f"{_RX}/h:value/h:originalText/text()", 250),
    ("E.i.1.1b", f"{_RX}/h:value/h:originalText/@language", 3),
    ("E.i.2.1a", f"{_RX}/h:value/@codeSystemVersion", 4),
    ("E.i.2.1b", f"{_RX}/h:value/@code", 8),
    ("G.k.2.2", f"{_DRUG}/h:consumable/h:instanceOfKind/h:kindOfProduct/h:name/text()", 250),
    ("G.k.4.r.1a", f"{_DOSE}/h:doseQuantity/@value", 8),
    ("G.k.4.r.1b", f"{_DOSE}/h:doseQuantity/@unit", 50),
    (
        "G.k.4.r.7",
        f"{_DOSE}/h:consumable/h:instanceOfKind/h:productInstanceInstance/h:lotNumberText/text()",
        35,
    ),
    ("G.k.4.r.8", f"{_DOSE}/h:text/text()", 2000),
    ("G.k.4.r.10.1", f"{_DOSE}/h:routeCode/h:originalText/text()", 60),
    ("H.1", f"{_IE}/h:text/text()", 100000),
]
ALLOWED = [
    ("C.1.3", f"{_CHAR}[h:code/@code='1']/h:value/@code", {"1", "2", "3", "4"}),
    (
        "C.1.6.1",
        f"{_IE}/h:component/h:observationEvent[h:code/@code='1']/h:value/@value",
        {"true", "false"},
    ),
    ("C.1.11.1", f"{_CHAR}[h:code/@code='3']/h:value/@code", {"1", "2"}),
    (
        "C.2.r.4",
        f"{_REPORTER}/h:assignedPerson/h:asQualifiedEntity/h:code/@code",
        {"1", "2", "3", "4", "5"},
    ),
    (
        "C.3.1",
        f"{_IE}/h:subjectOf1/h:controlActEvent/h:author/h:assignedEntity/h:code/@code",
        {"1", "2", "3", "4", "5", "6", "7"},
    ),
    ("D.5", f"{_PR}/h:player1/h:administrativeGenderCode/@code", {"1", "2"}),
    (
        "D.2.2b",
        f"{_PR}/h:subjectOf2/h:observation[h:code/@code='3']/h:value/@unit",
        set(codes.AGE_UNIT_YEARS),
    ),
    (
        "E.i.7",
        f"{_RX}/h:outboundRelationship2/h:observation[h:code/@code='27']/h:value/@code",
        set(codes.OUTCOME_NAMES),
    ),
    (
        "G.k.1",
        f"{_IE}/h:component/h:adverseEventAssessment/h:component/"
        "h:causalityAssessment[h:code/@code='20']/h:value/@code",
        {"1", "2", "3", "4"},
    ),
]
# Element, XPath of its time stamps, the digits required (14: to the second, 8: the day, 4: year).
DATES = [
    ("N.2.r.4", "h:creationTime/@value", 14),
    ("C.1.2", "h:controlActProcess/h:effectiveTime/@value", 14),
    ("C.1.4", f"{_IE}/h:effectiveTime/h:low/@value", 8),
    ("C.1.5", f"{_IE}/h:availabilityTime/@value", 8),
    ("E.i.4", f"{_RX}/h:effectiveTime/h:low/@value", 4),
    ("E.i.5", f"{_RX}/h:effectiveTime/h:high/@value", 4),
    ("G.k.4.r.4", f"{_DOSE}/h:effectiveTime/h:comp/h:low/@value", 4),
    ("G.k.4.r.5", f"{_DOSE}/h:effectiveTime/h:comp/h:high/@value", 4),
]
CASE_ID_FORMAT = re.compile(r"^[A-Z]{2}-[A-Za-z0-9]+-\S.*$")
MEDDRA_VERSION = re.compile(r"^\d{1,2}\.\d$")
MEDDRA_CODE = re.compile(r"^\d{8}$")


def _values(node: Any, path: str) -> list[str]:
    return [str(v) for v in node.xpath(path, namespaces=NS)]


def check_batch(root: Any, *, first_transmissions: Collection[str] = ()) -> list[Problem]:
    """Every broken rule of a batch. first_transmissions: the C.1.1 of the cases never sent
    before (a nullification may not be their first message)."""
    problems: list[Problem] = []
    today = timezone.localdate()
    batch_sender = _values(root, "h:sender/h:device/h:id/@extension")
    batch_receiver = _values(root, "h:receiver/h:device/h:id/@extension")
    for name, path in (
        ("N.1.2", "h:id/@extension"),
        ("N.1.5", "h:creationTime/@value"),
    ):
        if not _values(root, path):
            problems.append(Problem(REQUIRED, "batch", f"Data value required for {name}."))
    if not batch_sender:
        problems.append(Problem(REQUIRED, "batch", "Data value required for N.1.3."))
    if not batch_receiver:
        problems.append(Problem(REQUIRED, "batch", "Data value required for N.1.4."))
    for value in _values(root, "h:creationTime/@value"):
        problems.extend(_date_problems("batch", "N.1.5", value, 14, today))
    for i, message in enumerate(root.findall("h:PORR_IN049016UV", NS), start=1):
        problems.extend(
            _check_message(
                message,
                i,
                batch_sender=batch_sender[0] if batch_sender else "",
                batch_receiver=batch_receiver[0] if batch_receiver else "",
                first_transmissions=first_transmissions,
                today=today,
            )
        )
    problems.extend(schema_problems(root))
    return problems


def _check_message(
    message: Any,
    position: int,
    *,
    batch_sender: str,
    batch_receiver: str,
    first_transmissions: Collection[str],
    today: date,
) -> Iterator[Problem]:
    ids = _values(message, f"{_IE}/h:id[@root='{codes.ROOT_C11}']/@extension")
    case = ids[0] if ids else f"message {position}"

    def problem(rule: Rule, text: str) -> Problem:
        return Problem(rule, case, text)

    for name, path in MANDATORY:
        if not any(v.strip() for v in _values(message, path)):
            yield problem(REQUIRED, f"Data value required for {name}.")
    reactions = message.xpath(_RX, namespaces=NS)
    if not reactions:
        yield problem(REQUIRED, "Data value required for E.i: the case names no reaction.")
    for i, reaction in enumerate(reactions, start=1):
        words = _values(reaction, "h:value/h:originalText/text()")
        named = f"reaction {i}" + (f" ({words[0]})" if words else "")
        for name, path in MANDATORY_REACTION:
            if not any(v.strip() for v in _values(reaction, path)):
                yield problem(REQUIRED, f"Data value required for {name} of {named}.")
        for code in _values(reaction, "h:value/@code"):
            if code and not MEDDRA_CODE.match(code):
                yield problem(MEDDRA, f"E.i.2.1b of {named} is {code!r}, not an 8-digit code.")
        if words and not _values(reaction, "h:value/h:originalText/@language"):
            yield problem(LANGUAGE, f"E.i.1.1b is required with the words of {named}.")
        for flag in reaction.xpath(
            "h:outboundRelationship2/h:observation/h:value[@value='false']", namespaces=NS
        ):
            code = flag.getparent().find("h:code", NS)
            if code is not None and code.get("code") in codes.SERIOUSNESS_NAMES:
                yield problem(NEVER_FALSE, f"E.i.3.2 of {named} is false; use nullFlavor NI.")
    drugs = message.xpath(_DRUG, namespaces=NS)
    if not drugs:
        yield problem(REQUIRED, "Data value required for G.k: the case names no drug.")
    for drug in drugs:
        if not "".join(
            _values(drug, "h:consumable/h:instanceOfKind/h:kindOfProduct/h:name/text()")
        ).strip():
            yield problem(REQUIRED, "Data value required for G.k.2.2.")
    roles = _values(
        message,
        f"{_IE}/h:component/h:adverseEventAssessment/h:component/"
        "h:causalityAssessment[h:code/@code='20']/h:value/@code",
    )
    if not set(roles) & {"1", "3", "4"}:
        yield problem(
            SUSPECT,
            "G.k.1: at least one drug must be suspect (1), interacting (3) "
            "or not administered (4).",
        )
    for name, path, limit in MAX_LENGTH:
        for value in _values(message, path):
            if len(value) > limit:
                yield problem(
                    LENGTH,
                    f"Maximum length exceeded for {name}: {len(value):,} characters, "
                    f"at most {limit:,} ({value[:40]!r}...).",
                )
    for name, path, allowed in ALLOWED:
        for value in _values(message, path):
            if value not in allowed:
                yield problem(CODES, f"{name} contains invalid value {value!r}.")
    for name, path, digits in DATES:
        for value in _values(message, path):
            yield from _date_problems(case, name, value, digits, today)
    for dose in message.xpath(_DOSE, namespaces=NS):
        quantity = dose.find("h:doseQuantity", NS)
        if quantity is not None and bool(quantity.get("value")) != bool(quantity.get("unit")):
            yield problem(PAIRS, "G.k.4.r.1a and G.k.4.r.1b come together (FDA R0075).")
    for age in message.xpath(
        f"{_PR}/h:subjectOf2/h:observation[h:code/@code='3']/h:value", namespaces=NS
    ):
        if bool(age.get("value")) != bool(age.get("unit")):
            yield problem(PAIRS, "D.2.2a (age) and D.2.2b (its unit) come together.")
    versions = set(_values(message, f".//h:*[@codeSystem='{codes.CS_MEDDRA}']/@codeSystemVersion"))
    if len(versions) > 1:
        yield problem(
            MEDDRA, f"One MedDRA version per ICSR; this one uses {', '.join(sorted(versions))}."
        )
    for version in versions:
        if not MEDDRA_VERSION.match(version):
            yield problem(MEDDRA, f"The MedDRA version {version!r} is not written N.N.")
    c11 = ids[0] if ids else ""
    worldwide = _values(message, f"{_IE}/h:id[@root='{codes.ROOT_C81}']/@extension")
    if c11 and not CASE_ID_FORMAT.match(c11):
        yield problem(CASE_ID, f"C.1.1 {c11!r} does not read country-sender-number.")
    if len(worldwide) > 1:
        yield problem(CASE_ID, "C.1.8.1 occurs more than once.")
    receiver = "".join(_values(message, "h:receiver/h:device/h:id/@extension"))
    if (
        batch_receiver
        and batch_receiver != codes.FDA_RECEIVER
        and conf.receiver_id() == (codes.FDA_RECEIVER)
    ):
        yield problem(
            RECEIVER, f"N.1.4 is {batch_receiver!r}; FDA post-market batches go to ZZFDA."
        )
    if batch_receiver == codes.FDA_RECEIVER and receiver != codes.FDA_MESSAGE_RECEIVER:
        yield problem(RECEIVER, f"N.2.r.3 is {receiver!r}; with N.1.4 ZZFDA it must be CDER.")
    sender = "".join(_values(message, "h:sender/h:device/h:id/@extension"))
    if sender != batch_sender:
        yield problem(
            SENDER, f"N.2.r.2 {sender!r} differs from the batch sender N.1.3 {batch_sender!r}."
        )
    nullification = _values(message, f"{_CHAR}[h:code/@code='3']/h:value/@code")
    if nullification and c11 in first_transmissions:
        yield problem(
            NULLIFY,
            "This case was never sent: its first transmission cannot be a nullification or "
            "an amendment (C.1.11.1).",
        )
    if (
        nullification
        and not "".join(
            _values(message, f"{_CHAR}[h:code/@code='4']/h:value/h:originalText/text()")
        ).strip()
    ):
        yield problem(NULLIFY, "C.1.11.2 (the reason) is required with C.1.11.1.")
    reporters = message.xpath(
        f"{_IE}/h:outboundRelationship[h:priorityNumber/@value='1']", namespaces=NS
    )
    if len(reporters) != 1:
        yield problem(SOURCE, "Exactly one reporter must be the primary source (C.2.r.5 = 1).")
    expedited = _values(
        message, f"{_IE}/h:component/h:observationEvent[h:code/@code='23']/h:value/@value"
    )
    kind = _values(
        message, f"{_IE}/h:component/h:observationEvent[h:code/@code='C54588']/h:value/@code"
    )
    if expedited and kind:
        wanted = "1" if expedited[0] == "true" else "2"
        if kind[0] != wanted:
            yield problem(
                EXPEDITED,
                f"FDA.C.1.7.1 is {kind[0]} but C.1.7 is {expedited[0]}: it must be {wanted}.",
            )
    if _values(message, f"{_CHAR}[h:code/@code='2']/h:value/@value") == ["false"]:
        yield problem(NEVER_FALSE, "C.1.9.1 is false; use true or nullFlavor NI.")


def _date_problems(case: str, name: str, value: str, digits: int, today: date) -> list[Problem]:
    match = TS.match(value)
    if match is None:
        return [Problem(PRECISION, case, f"{name} {value!r} is not a date (CCYYMMDD...).")]
    known = "".join(g or "" for g in match.groups()[:6])
    problems = []
    if len(known) < digits:
        wanted = {14: "full precision (to the second)", 8: "at least CCYYMMDD", 4: "CCYY"}
        problems.append(
            Problem(PRECISION, case, f"{name} {value!r} does not have {wanted[digits]}.")
        )
    first_day = (known + "0101")[:8] if len(known) < 8 else known[:8]
    try:
        given = date(int(first_day[:4]), int(first_day[4:6]), int(first_day[6:8]))
    except ValueError:
        return [*problems, Problem(PRECISION, case, f"{name} {value!r} is not a real date.")]
    if given > today:
        problems.append(Problem(FUTURE, case, f"{name} contains a future date ({value})."))
    return problems


def schema_problems(root: Any) -> list[Problem]:
    """XML Schema validation when E2B_SCHEMA_DIR names a folder holding the ICH schemas."""
    folder = conf.schema_dir()
    if not folder:
        return []
    found = sorted(Path(folder).rglob("MCCI_IN200100UV01.xsd"))
    if not found:
        return [
            Problem(SCHEMA, "batch", f"E2B_SCHEMA_DIR {folder!r} holds no MCCI_IN200100UV01.xsd.")
        ]
    schema = etree.XMLSchema(etree.parse(str(found[0])))
    if schema.validate(root):
        return []
    return [
        Problem(SCHEMA, "batch", f"line {error.line}: {error.message}")
        for error in list(schema.error_log)[:50]  # type: ignore[call-overload]
    ]
