"""ICSR batches read safely into plain data: no DTD entities, no network, a size limit, and
every PORR_IN049016UV message of the batch, whatever order its elements come in."""

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as safe_xml
from defusedxml import (
    DefusedXmlException,
    DTDForbidden,
    EntitiesForbidden,
    ExternalReferenceForbidden,
)
from lxml import etree

from . import codes, conf

NS = codes.NS
TS = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.\d+)?([+-]\d{4})?$")


class IcsrUnreadable(Exception):
    """The document cannot be read as an ICSR batch; the message says why."""


@dataclass
class IcsrReaction:
    uid: str
    code: str = ""
    meddra_version: str = ""
    verbatim: str = ""
    language: str = ""
    translation: str = ""
    onset: date | None = None
    end: date | None = None
    seriousness: list[str] = field(default_factory=list)
    outcome: str = ""


@dataclass
class IcsrDrug:
    uid: str
    name: str
    role: str = ""
    dose: str = ""
    route: str = ""
    start: date | None = None
    end: date | None = None
    lot_number: str = ""


@dataclass
class Icsr:
    """One message of a batch, as the product uses it."""

    position: int
    message_id: str = ""
    safety_report_id: str = ""
    worldwide_id: str = ""
    created: str = ""
    first_received: str = ""
    latest_information: str = ""
    report_type: str = ""
    nullification: str = ""
    nullification_reason: str = ""
    narrative: str = ""
    patient_name: str = ""
    patient_null: str = ""
    sex: str = ""
    age: float | None = None
    age_problem: str = ""
    weight_kg: str = ""
    qualification: str = ""
    reactions: list[IcsrReaction] = field(default_factory=list)
    drugs: list[IcsrDrug] = field(default_factory=list)
    causality: dict[tuple[str, str], str] = field(default_factory=dict)
    meddra_versions: set[str] = field(default_factory=set)

    @property
    def label(self) -> str:
        return self.safety_report_id or f"message {self.position}"


def parse_batch(data: bytes) -> Any:
    """The batch's root element; IcsrUnreadable says why a document is refused."""
    limit = conf.max_bytes()
    if len(data) > limit:
        raise IcsrUnreadable(
            f"The batch is {len(data):,} bytes; at most {limit:,} bytes are accepted. "
            "Send fewer messages per batch."
        )
    if not data.strip():
        raise IcsrUnreadable("The body is empty; send an E2B(R3) batch (MCCI_IN200100UV01).")
    try:
        safe_xml.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except EntitiesForbidden as exc:
        if exc.sysid or exc.pubid:
            raise IcsrUnreadable(
                f"The document declares an external entity ({exc.name!r}); ICSRs may not "
                "refer to other files or addresses."
            ) from exc
        raise IcsrUnreadable(
            f"The document declares an entity ({exc.name!r}); entity declarations are "
            "refused because they can expand into gigabytes (the 'billion laughs' attack)."
        ) from exc
    except (ExternalReferenceForbidden, DTDForbidden) as exc:
        raise IcsrUnreadable(
            "The document refers to an external DTD or entity; ICSRs may not."
        ) from exc
    except DefusedXmlException as exc:
        raise IcsrUnreadable(f"The document is refused: {exc}.") from exc
    except ParseError as exc:
        raise IcsrUnreadable(f"The document is not well-formed XML: {exc}.") from exc
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise IcsrUnreadable(f"The document is not well-formed XML: {exc}.") from exc
    expected = f"{{{codes.HL7}}}MCCI_IN200100UV01"
    if root.tag != expected:
        found = etree.QName(root).localname
        namespace = etree.QName(root).namespace or "no namespace"
        raise IcsrUnreadable(
            f"The root element is {found} ({namespace}); an E2B(R3) batch is "
            f"MCCI_IN200100UV01 in the {codes.HL7} namespace."
        )
    return root


def read_batch(data: bytes) -> list[Icsr]:
    root = parse_batch(data)
    messages = root.findall("h:PORR_IN049016UV", NS)
    if not messages:
        raise IcsrUnreadable("The batch holds no PORR_IN049016UV message.")
    return [read_message(m, i) for i, m in enumerate(messages, start=1)]


def _attr(node: Any, path: str, name: str) -> str:
    found = node.find(path, NS) if path else node
    return (found.get(name) or "").strip() if found is not None else ""


def _text(node: Any, path: str) -> str:
    found = node.find(path, NS)
    return (found.text or "").strip() if found is not None and found.text else ""


def parse_date(value: str) -> date | None:
    """A date when the HL7 time stamp gives at least the day, else None."""
    match = TS.match(value or "")
    if match is None or match.group(3) is None:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def ts_key(value: str) -> str:
    """A time stamp's digits padded to the second, for ordering versions."""
    match = TS.match(value or "")
    if match is None:
        return ""
    return "".join(g or "" for g in match.groups()[:6]).ljust(14, "0")


def _by_code(nodes: list[Any], code: str, system: str) -> Any:
    for node in nodes:
        c = node.find("h:code", NS)
        if c is not None and c.get("code") == code and c.get("codeSystem") == system:
            return node
    return None


def read_message(msg: Any, position: int) -> Icsr:
    icsr = Icsr(position=position)
    icsr.message_id = _attr(msg, "h:id", "extension")
    icsr.created = _attr(msg, "h:controlActProcess/h:effectiveTime", "value")
    event = msg.find("h:controlActProcess/h:subject/h:investigationEvent", NS)
    if event is None:
        return icsr
    for ident in event.findall("h:id", NS):
        if ident.get("root") == codes.ROOT_C11:
            icsr.safety_report_id = (ident.get("extension") or "").strip()
        elif ident.get("root") == codes.ROOT_C81:
            icsr.worldwide_id = (ident.get("extension") or "").strip()
    text = event.find("h:text", NS)
    icsr.narrative = (text.text or "").strip() if text is not None and text.text else ""
    icsr.first_received = _attr(event, "h:effectiveTime/h:low", "value")
    icsr.latest_information = _attr(event, "h:availabilityTime", "value")
    for characteristic in event.findall("h:subjectOf2/h:investigationCharacteristic", NS):
        code = characteristic.find("h:code", NS)
        if code is None or code.get("codeSystem") != codes.CS_CHARACTERISTIC:
            continue
        value = characteristic.find("h:value", NS)
        if code.get("code") == "1" and value is not None:
            icsr.report_type = value.get("code") or ""
        elif code.get("code") == "3" and value is not None:
            icsr.nullification = value.get("code") or ""
        elif code.get("code") == "4":
            icsr.nullification_reason = _text(characteristic, "h:value/h:originalText")
    _reporter(event, icsr)
    role = event.find("h:component/h:adverseEventAssessment/h:subject1/h:primaryRole", NS)
    if role is not None:
        _patient(role, icsr)
        for obs in role.findall("h:subjectOf2/h:observation", NS):
            code = obs.find("h:code", NS)
            if code is not None and (code.get("code"), code.get("codeSystem")) == (
                "29",
                codes.CS_OBSERVATION,
            ):
                icsr.reactions.append(_reaction(obs, icsr))
        for organizer in role.findall("h:subjectOf2/h:organizer", NS):
            code = organizer.find("h:code", NS)
            if code is None or (code.get("code"), code.get("codeSystem")) != (
                "4",
                codes.CS_ORGANIZER,
            ):
                continue
            for admin in organizer.findall("h:component/h:substanceAdministration", NS):
                icsr.drugs.append(_drug(admin))
    assessment = event.find("h:component/h:adverseEventAssessment", NS)
    if assessment is not None:
        _assessments(assessment, icsr)
    return icsr


def _reporter(event: Any, icsr: Icsr) -> None:
    reporters = []
    for link in event.findall("h:outboundRelationship", NS):
        related = link.find("h:relatedInvestigation", NS)
        code = related.find("h:code", NS) if related is not None else None
        if code is None or (code.get("code"), code.get("codeSystem")) != ("2", codes.CS_RELATED):
            continue
        priority = _attr(link, "h:priorityNumber", "value")
        qualification = _attr(
            related,
            "h:subjectOf2/h:controlActEvent/h:author/h:assignedEntity/h:assignedPerson/"
            "h:asQualifiedEntity/h:code",
            "code",
        )
        reporters.append((priority != "1", qualification))
    if reporters:
        icsr.qualification = sorted(reporters)[0][1]


def _patient(role: Any, icsr: Icsr) -> None:
    player = role.find("h:player1", NS)
    if player is not None:
        name = player.find("h:name", NS)
        if name is not None:
            icsr.patient_name = "".join(name.itertext()).strip()
            icsr.patient_null = name.get("nullFlavor") or ""
        icsr.sex = _attr(player, "h:administrativeGenderCode", "code")
    for obs in role.findall("h:subjectOf2/h:observation", NS):
        code = obs.find("h:code", NS)
        value = obs.find("h:value", NS)
        if code is None or value is None or code.get("codeSystem") != codes.CS_OBSERVATION:
            continue
        if code.get("code") == "3":
            number, unit = value.get("value") or "", value.get("unit") or ""
            factor = codes.AGE_UNIT_YEARS.get(unit)
            try:
                icsr.age = float(number) * factor if factor is not None else None
            except ValueError:
                icsr.age = None
            if icsr.age is None and (number or unit):
                icsr.age_problem = f"the age {number!r} {unit!r} (D.2.2a/b) cannot be read"
        elif code.get("code") == "7":
            icsr.weight_kg = value.get("value") or ""


def _reaction(obs: Any, icsr: Icsr) -> IcsrReaction:
    reaction = IcsrReaction(uid=_attr(obs, "h:id", "root"))
    period = obs.find("h:effectiveTime", NS)
    if period is not None:
        reaction.onset = parse_date(_attr(period, "h:low", "value"))
        high = _attr(period, "h:high", "value") or _attr(period, "h:comp/h:high", "value")
        reaction.end = parse_date(high)
    value = obs.find("h:value", NS)
    if value is not None:
        reaction.code = (value.get("code") or "").strip()
        if value.get("codeSystem") == codes.CS_MEDDRA:
            reaction.meddra_version = (value.get("codeSystemVersion") or "").strip()
            icsr.meddra_versions.add(reaction.meddra_version)
        original = value.find("h:originalText", NS)
        if original is not None:
            reaction.verbatim = (original.text or "").strip()
            reaction.language = original.get("language") or ""
    for related in obs.findall("h:outboundRelationship2/h:observation", NS):
        code = related.find("h:code", NS)
        result = related.find("h:value", NS)
        if code is None or result is None:
            continue
        key = (code.get("code"), code.get("codeSystem"))
        if key[1] != codes.CS_OBSERVATION:
            continue
        if key[0] == "30":
            reaction.translation = (result.text or "").strip()
        elif key[0] == "27":
            reaction.outcome = result.get("code") or ""
        elif key[0] in codes.SERIOUSNESS_NAMES and result.get("value") == "true":
            for criterion, number in codes.SERIOUSNESS_CODES.items():
                if number == key[0]:
                    reaction.seriousness.append(criterion)
    return reaction


def _drug(admin: Any) -> IcsrDrug:
    drug = IcsrDrug(
        uid=_attr(admin, "h:id", "root"),
        name=_text(admin, "h:consumable/h:instanceOfKind/h:kindOfProduct/h:name"),
    )
    for dosage in admin.findall("h:outboundRelationship2", NS):
        if dosage.get("typeCode") != "COMP":
            continue
        given = dosage.find("h:substanceAdministration", NS)
        if given is None:
            continue
        drug.dose = _text(given, "h:text")
        quantity = given.find("h:doseQuantity", NS)
        if not drug.dose and quantity is not None and quantity.get("value"):
            drug.dose = f"{quantity.get('value')} {quantity.get('unit') or ''}".strip()
        drug.route = _text(given, "h:routeCode/h:originalText") or _attr(
            given, "h:routeCode", "displayName"
        )
        timing = given.find("h:effectiveTime", NS)
        if timing is not None:
            period = timing
            for comp in timing.findall("h:comp", NS):
                if comp.find("h:low", NS) is not None or comp.find("h:high", NS) is not None:
                    period = comp
            drug.start = parse_date(_attr(period, "h:low", "value"))
            drug.end = parse_date(_attr(period, "h:high", "value"))
        drug.lot_number = _text(
            given, "h:consumable/h:instanceOfKind/h:productInstanceInstance/h:lotNumberText"
        )
        break
    return drug


def _assessments(assessment: Any, icsr: Icsr) -> None:
    roles: dict[str, str] = {}
    for node in assessment.findall("h:component/h:causalityAssessment", NS):
        code = node.find("h:code", NS)
        if code is None or code.get("codeSystem") != codes.CS_OBSERVATION:
            continue
        drug_id = _attr(node, "h:subject2/h:productUseReference/h:id", "root")
        if code.get("code") == "20":
            roles[drug_id] = _attr(node, "h:value", "code")
        elif code.get("code") == "39":
            reaction_id = _attr(node, "h:subject1/h:adverseEffectReference/h:id", "root")
            value = node.find("h:value", NS)
            result = (value.text or "").strip() if value is not None and value.text else ""
            if result and (reaction_id, drug_id) not in icsr.causality:
                icsr.causality[(reaction_id, drug_id)] = result
    for drug in icsr.drugs:
        drug.role = roles.get(drug.uid, "")
