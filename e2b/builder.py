"""Reports written as an E2B(R3) batch: MCCI_IN200100UV01 holding one PORR_IN049016UV per
case, in the element order of the ICH and FDA examples."""

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.utils import timezone
from lxml import etree

from reports.models import Reaction, Report

from . import codes, conf
from .drugs import DrugUse, report_drugs

_H = f"{{{codes.HL7}}}"
_XSI_TYPE = f"{{{codes.XSI}}}type"
GRADES_HEADING = "CTCAE v5.0 grades:"
GRADE_LINE = re.compile(r"^- Reaction (\d+) \((.*)\): grade ([1-5])$")
DOSE = re.compile(r"^\s*(\d{1,8}(?:\.\d{1,4})?)\s*([A-Za-zµ/²0-9\[\]]+)\s*$")


@dataclass(frozen=True)
class Message:
    """One case to write: the report, the date of its latest information (C.1.5) and, for a
    void report sent before, the reason it is nullified (C.1.11)."""

    report: Report
    latest_information: date
    nullification: str = ""


def case_id(report: Report) -> str:
    """C.1.1 (and C.1.8.1): the same for every version of the case."""
    return f"{conf.case_id_prefix()}{report.reference}"


def timestamp(moment: datetime) -> str:
    """HL7 TS to the second, with the offset from UTC."""
    local = timezone.localtime(moment)
    return local.strftime("%Y%m%d%H%M%S%z")


def day(value: date) -> str:
    return value.strftime("%Y%m%d")


def term_code(reaction: Reaction) -> str:
    """The MedDRA LLT code of a reaction's term, or "" when its term has none."""
    term = reaction.term
    return term.e2b_llt_code.strip() if term is not None else ""


def narrative_with_grades(report: Report, reactions: Sequence[Reaction]) -> str:
    """H.1: the narrative, then each reaction's CTCAE grade (E2B has no element for it)."""
    lines = [GRADES_HEADING]
    for i, reaction in enumerate(reactions, start=1):
        name = reaction.term.name if reaction.term is not None else reaction.verbatim
        lines.append(f"- Reaction {i} ({name}): grade {reaction.grade}")
    grades = "\n".join(lines)
    return f"{report.narrative.strip()}\n\n{grades}" if report.narrative.strip() else grades


class _Writer:
    def el(self, parent: Any, tag: str, text: str | None = None, **attrs: str) -> Any:
        node = etree.SubElement(parent, _H + tag)
        for key, value in attrs.items():
            if key == "xsi_type":
                node.set(_XSI_TYPE, value)
            else:
                node.set(key.rstrip("_").replace("__", ":"), value)
        if text is not None:
            node.text = text
        return node

    def code(self, parent: Any, code: str, system: str, name: str = "", tag: str = "code") -> Any:
        attrs = {"code": code, "codeSystem": system}
        if name:
            attrs["displayName"] = name
        return self.el(parent, tag, **attrs)

    def observation(self, parent: Any, code: str, system: str, name: str) -> Any:
        obs = self.el(self.el(parent, "subjectOf2", typeCode="SBJ"), "observation")
        obs.set("classCode", "OBS")
        obs.set("moodCode", "EVN")
        self.code(obs, code, system, name)
        return obs


def build_batch(
    messages: Sequence[Message], *, created: datetime | None = None, batch_number: str = ""
) -> Any:
    """The batch element of the given cases (an lxml element)."""
    created = created or timezone.now()
    w = _Writer()
    root = etree.Element(
        _H + "MCCI_IN200100UV01",
        nsmap={None: codes.HL7, "xsi": codes.XSI},  # type: ignore[dict-item]
    )
    root.set("ITSVersion", "XML_1.0")
    root.set(f"{{{codes.XSI}}}schemaLocation", codes.SCHEMA_LOCATION)
    w.el(root, "id", extension=batch_number or uuid.uuid4().hex, root=codes.ROOT_N12)
    w.el(root, "creationTime", value=timestamp(created))
    w.el(root, "responseModeCode", code="D")
    w.el(root, "interactionId", extension="MCCI_IN200100UV01", root=codes.HL7_INTERACTION)
    w.el(root, "name", code="1", displayName="ichicsr", codeSystem=codes.CS_MESSAGE_TYPE)
    for message in messages:
        _message(w, root, message, created)
    receiver = w.el(w.el(root, "receiver", typeCode="RCV"), "device")
    receiver.set("classCode", "DEV")
    receiver.set("determinerCode", "INSTANCE")
    w.el(receiver, "id", extension=conf.receiver_id(), root=codes.ROOT_N14)
    sender = w.el(w.el(root, "sender", typeCode="SND"), "device")
    sender.set("classCode", "DEV")
    sender.set("determinerCode", "INSTANCE")
    w.el(sender, "id", extension=conf.sender_id(), root=codes.ROOT_N13)
    return root


def serialize(root: Any) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True))


def _device(w: _Writer, parent: Any, tag: str, type_code: str, value: str, root: str) -> None:
    device = w.el(w.el(parent, tag, typeCode=type_code), "device")
    device.set("classCode", "DEV")
    device.set("determinerCode", "INSTANCE")
    w.el(device, "id", extension=value, root=root)


def _message(w: _Writer, batch: Any, message: Message, created: datetime) -> None:
    report = message.report
    reactions = list(report.reactions.all())
    drugs = report_drugs(report)
    c11 = case_id(report)
    msg = w.el(batch, "PORR_IN049016UV")
    w.el(msg, "id", extension=c11, root=codes.ROOT_C11)
    w.el(msg, "creationTime", value=timestamp(created))
    w.el(msg, "interactionId", extension="PORR_IN049016UV", root=codes.HL7_INTERACTION)
    w.el(msg, "processingCode", code="P")
    w.el(msg, "processingModeCode", code="I")
    w.el(msg, "acceptAckCode", code="AL")
    _device(w, msg, "receiver", "RCV", conf.message_receiver_id(), codes.ROOT_N2R3)
    _device(w, msg, "sender", "SND", conf.sender_id(), codes.ROOT_N2R2)
    act = w.el(msg, "controlActProcess", classCode="CACT", moodCode="EVN")
    w.el(act, "code", code="PORR_TE049016UV", codeSystem=codes.HL7_TRIGGER)
    w.el(act, "effectiveTime", value=timestamp(created))
    event = w.el(
        w.el(act, "subject", typeCode="SUBJ"),
        "investigationEvent",
        classCode="INVSTG",
        moodCode="EVN",
    )
    w.el(event, "id", extension=c11, root=codes.ROOT_C11)
    w.el(event, "id", extension=c11, root=codes.ROOT_C81)
    w.el(event, "code", code="PAT_ADV_EVNT", codeSystem=codes.HL7_ACT_CODE)
    w.el(event, "text", narrative_with_grades(report, reactions), mediaType="text/plain")
    w.el(event, "statusCode", code="active")
    w.el(w.el(event, "effectiveTime"), "low", value=day(timezone.localdate(report.received_at)))
    w.el(event, "availabilityTime", value=day(message.latest_information))
    assessment = w.el(
        w.el(event, "component", typeCode="COMP"),
        "adverseEventAssessment",
        classCode="INVSTG",
        moodCode="EVN",
    )
    role = w.el(w.el(assessment, "subject1", typeCode="SBJ"), "primaryRole", classCode="INVSBJ")
    reaction_ids = [str(uuid.uuid4()) for _ in reactions]
    drug_ids = [str(uuid.uuid4()) for _ in drugs]
    _patient(w, role, report)
    for reaction, rid in zip(reactions, reaction_ids, strict=True):
        _reaction(w, role, reaction, rid)
    organizer = w.el(
        w.el(role, "subjectOf2", typeCode="SBJ"), "organizer", classCode="CATEGORY", moodCode="EVN"
    )
    w.code(organizer, "4", codes.CS_ORGANIZER, "drugInformation")
    for drug, did in zip(drugs, drug_ids, strict=True):
        _drug(w, organizer, drug, did)
    for drug, did in zip(drugs, drug_ids, strict=True):
        _role(w, assessment, drug, did)
    for drug, did in zip(drugs, drug_ids, strict=True):
        if not drug.assessed:
            continue
        for reaction, rid in zip(reactions, reaction_ids, strict=True):
            if reaction.causality:
                _causality(w, assessment, reaction.get_causality_display(), rid, did)
    _flag(w, event, "1", codes.CS_OBSERVATION, "additionalDocumentsAvailable", False)
    _flag(w, event, "23", codes.CS_OBSERVATION, "localCriteriaForExpedited", report.expedited)
    local = w.el(w.el(event, "component", typeCode="COMP"), "observationEvent")
    local.set("classCode", "OBS")
    local.set("moodCode", "EVN")
    w.code(local, "C54588", codes.CS_NCI, "localCriteriaReportType")
    kind = ("1", "15-Day") if report.expedited else ("2", "Non-Expedited AE")
    w.el(
        local,
        "value",
        xsi_type="CE",
        code=kind[0],
        codeSystem=codes.CS_FDA_REPORT_TYPE,
        displayName=kind[1],
    )
    _flag(w, event, "C156384", codes.CS_NCI, "Combination Product Report Indicator", False)
    _first_sender(w, event)
    _reporter(w, event, report)
    _sender(w, event, report)
    _characteristic(w, event, "1", "ICH ReportType", value="1", system=codes.CS_REPORT_TYPE)
    other = _characteristic_node(w, event, "2", "otherCaseIds")
    w.el(other, "value", xsi_type="BL", nullFlavor="NI")
    if message.nullification:
        _characteristic(
            w, event, "3", "nullificationAmendmentCode", value="1", system=codes.CS_NULLIFICATION
        )
        reason = _characteristic_node(w, event, "4", "nullificationAmendmentReason")
        w.el(w.el(reason, "value", xsi_type="CE"), "originalText", message.nullification)


def _flag(w: _Writer, event: Any, code: str, system: str, name: str, value: bool) -> None:
    obs = w.el(w.el(event, "component", typeCode="COMP"), "observationEvent")
    obs.set("classCode", "OBS")
    obs.set("moodCode", "EVN")
    w.code(obs, code, system, name)
    w.el(obs, "value", xsi_type="BL", value="true" if value else "false")


def _characteristic_node(w: _Writer, event: Any, code: str, name: str) -> Any:
    node = w.el(w.el(event, "subjectOf2", typeCode="SUBJ"), "investigationCharacteristic")
    node.set("classCode", "OBS")
    node.set("moodCode", "EVN")
    w.code(node, code, codes.CS_CHARACTERISTIC, name)
    return node


def _characteristic(
    w: _Writer, event: Any, code: str, name: str, *, value: str, system: str
) -> None:
    node = _characteristic_node(w, event, code, name)
    w.el(node, "value", xsi_type="CE", code=value, codeSystem=system)


def _assigned(w: _Writer, event: Any, tag: str) -> Any:
    act = w.el(
        w.el(event, tag, typeCode="SUBJ"), "controlActEvent", classCode="CACT", moodCode="EVN"
    )
    return w.el(w.el(act, "author", typeCode="AUT"), "assignedEntity", classCode="ASSIGNED")


def _first_sender(w: _Writer, event: Any) -> None:
    related = w.el(
        w.el(event, "outboundRelationship", typeCode="SPRT"),
        "relatedInvestigation",
        classCode="INVSTG",
        moodCode="EVN",
    )
    w.code(related, "1", codes.CS_RELATED, "initialReport")
    entity = _assigned(w, related, "subjectOf2")
    w.code(entity, "2", codes.CS_FIRST_SENDER, "other")


def _reporter(w: _Writer, event: Any, report: Report) -> None:
    link = w.el(event, "outboundRelationship", typeCode="SPRT")
    w.el(link, "priorityNumber", value="1")
    related = w.el(link, "relatedInvestigation", classCode="INVSTG", moodCode="EVN")
    w.code(related, "2", codes.CS_RELATED, "sourceReport")
    entity = _assigned(w, related, "subjectOf2")
    w.el(entity, "telecom", nullFlavor="NASK", value="mailto")
    person = w.el(entity, "assignedPerson", classCode="PSN", determinerCode="INSTANCE")
    w.el(person, "name", nullFlavor="MSK")
    qualification = w.el(person, "asQualifiedEntity", classCode="QUAL")
    w.code(
        qualification,
        codes.QUALIFICATION_CODES.get(report.reporter_qualification, "3"),
        codes.CS_QUALIFICATION,
    )
    _country_and_organisation(w, entity, person, report.site.name[:60])


def _sender(w: _Writer, event: Any, report: Report) -> None:
    act = w.el(
        w.el(event, "subjectOf1", typeCode="SUBJ"),
        "controlActEvent",
        classCode="CACT",
        moodCode="EVN",
    )
    entity = w.el(w.el(act, "author", typeCode="AUT"), "assignedEntity", classCode="ASSIGNED")
    # C.3.1: the sender is a hospital's drug-safety team, health professionals.
    w.code(entity, "3", codes.CS_SENDER_TYPE)
    person = w.el(entity, "assignedPerson", classCode="PSN", determinerCode="INSTANCE")
    _country_and_organisation(w, entity, person, report.site.name[:100])


def _country_and_organisation(w: _Writer, entity: Any, person: Any, name: str) -> None:
    """The person's country, and the organisation the entity represents, by name."""
    place = w.el(person, "asLocatedEntity", classCode="LOCE")
    w.code(
        w.el(place, "location", classCode="COUNTRY", determinerCode="INSTANCE"),
        conf.country(),
        codes.CS_COUNTRY,
    )
    organisation = w.el(
        entity, "representedOrganization", classCode="ORG", determinerCode="INSTANCE"
    )
    inner = w.el(organisation, "assignedEntity", classCode="ASSIGNED")
    named = w.el(inner, "representedOrganization", classCode="ORG", determinerCode="INSTANCE")
    w.el(named, "name", name)


def _patient(w: _Writer, role: Any, report: Report) -> None:
    patient = report.patient
    player = w.el(role, "player1", classCode="PSN", determinerCode="INSTANCE")
    w.el(player, "name", patient.reference)
    if patient.sex in codes.SEX_CODES:
        w.el(
            player,
            "administrativeGenderCode",
            code=codes.SEX_CODES[patient.sex],
            codeSystem=codes.CS_SEX,
            displayName=patient.sex.capitalize(),
        )
    else:
        w.el(player, "administrativeGenderCode", nullFlavor="UNK")
    if patient.age is not None:
        obs = w.observation(role, "3", codes.CS_OBSERVATION, "age")
        w.el(obs, "value", xsi_type="PQ", value=str(patient.age), unit="a")
    if patient.weight_kg is not None:
        obs = w.observation(role, "7", codes.CS_OBSERVATION, "bodyWeight")
        w.el(obs, "value", xsi_type="PQ", value=str(patient.weight_kg), unit="kg")
    # FDA post-market race (FDA.D.11.r.1) and ethnicity (FDA.D.12): not held by the product.
    race = w.observation(role, "C17049", codes.CS_NCI, "Race")
    w.el(race, "value", xsi_type="CE", nullFlavor="UNK")
    ethnicity = w.observation(role, "C16564", codes.CS_NCI, "Ethnic Group")
    w.el(ethnicity, "value", xsi_type="CE", nullFlavor="UNK")
    history = w.el(
        w.el(role, "subjectOf2", typeCode="SBJ"), "organizer", classCode="CATEGORY", moodCode="EVN"
    )
    w.code(history, "1", codes.CS_ORGANIZER, "relevantMedicalHistoryAndConcurrentConditions")
    text = w.el(
        w.el(history, "component", typeCode="COMP"), "observation", classCode="OBS", moodCode="EVN"
    )
    w.code(text, "18", codes.CS_OBSERVATION, "historyAndConcurrentConditionText")
    w.el(text, "value", "Not reported.", xsi_type="ED")


def _reaction(w: _Writer, role: Any, reaction: Reaction, rid: str) -> None:
    obs = w.el(
        w.el(role, "subjectOf2", typeCode="SBJ"), "observation", classCode="OBS", moodCode="EVN"
    )
    w.el(obs, "id", root=rid)
    w.code(obs, "29", codes.CS_OBSERVATION, "reaction")
    if reaction.onset_date or reaction.end_date:
        period = w.el(obs, "effectiveTime", xsi_type="IVL_TS")
        if reaction.onset_date:
            w.el(period, "low", value=day(reaction.onset_date))
        if reaction.end_date:
            w.el(period, "high", value=day(reaction.end_date))
    value = w.el(obs, "value", xsi_type="CE", codeSystem=codes.CS_MEDDRA)
    value.set("code", term_code(reaction))
    value.set("codeSystemVersion", conf.meddra_version())
    words = reaction.verbatim.strip() or (reaction.term.name if reaction.term else "")
    w.el(value, "originalText", words, language="eng")
    place = w.el(w.el(obs, "location", typeCode="LOC"), "locatedEntity", classCode="LOCE")
    w.code(
        w.el(place, "locatedPlace", classCode="COUNTRY", determinerCode="INSTANCE"),
        conf.country(),
        codes.CS_COUNTRY,
    )
    met = set(reaction.seriousness)
    for criterion, code in codes.SERIOUSNESS_CODES.items():
        flag = _pert(w, obs, code, codes.CS_OBSERVATION, codes.SERIOUSNESS_NAMES[code])
        if criterion in met:
            w.el(flag, "value", xsi_type="BL", value="true")
        else:
            w.el(flag, "value", xsi_type="BL", nullFlavor="NI")
    intervention = _pert(w, obs, "7", codes.CS_FDA_INTERVENTION, "requiredIntervention")
    w.el(intervention, "value", xsi_type="BL", nullFlavor="NI")
    outcome = _pert(w, obs, "27", codes.CS_OBSERVATION, "outcome")
    code = codes.OUTCOME_CODES.get(reaction.outcome, "0")
    w.el(
        outcome,
        "value",
        xsi_type="CE",
        code=code,
        codeSystem=codes.CS_OUTCOME,
        displayName=codes.OUTCOME_NAMES[code],
    )


def _pert(w: _Writer, obs: Any, code: str, system: str, name: str) -> Any:
    node = w.el(
        w.el(obs, "outboundRelationship2", typeCode="PERT"),
        "observation",
        classCode="OBS",
        moodCode="EVN",
    )
    w.code(node, code, system, name)
    return node


def dose_quantity(dose: str) -> tuple[str, str] | None:
    """A dose written as a number and a UCUM unit ("40 mg", "0.8 mg/m2"), or None."""
    match = DOSE.match(dose)
    if match is None:
        return None
    unit = codes.DOSE_UNIT_SPELLINGS.get(match.group(2).lower(), match.group(2))
    return (match.group(1), unit) if unit in codes.DOSE_UNITS else None


def _drug(w: _Writer, organizer: Any, drug: DrugUse, did: str) -> None:
    admin = w.el(
        w.el(organizer, "component", typeCode="COMP"),
        "substanceAdministration",
        classCode="SBADM",
        moodCode="EVN",
    )
    w.el(admin, "id", root=did)
    kind = w.el(
        w.el(w.el(admin, "consumable", typeCode="CSM"), "instanceOfKind", classCode="INST"),
        "kindOfProduct",
        classCode="MMAT",
        determinerCode="KIND",
    )
    w.el(kind, "name", drug.name)
    if not (drug.dose or drug.route or drug.start or drug.end or drug.lot_number):
        return
    dosage = w.el(
        w.el(admin, "outboundRelationship2", typeCode="COMP"),
        "substanceAdministration",
        classCode="SBADM",
        moodCode="EVN",
    )
    if drug.dose:
        w.el(dosage, "text", drug.dose)
    if drug.start or drug.end:
        timing = w.el(dosage, "effectiveTime", xsi_type="SXPR_TS")
        period = w.el(timing, "comp", xsi_type="IVL_TS", operator="A")
        if drug.start:
            w.el(period, "low", value=day(drug.start))
        if drug.end:
            w.el(period, "high", value=day(drug.end))
    if drug.route:
        route = w.el(dosage, "routeCode")
        w.el(route, "originalText", codes.ROUTE_TEXT.get(drug.route, drug.route))
    quantity = dose_quantity(drug.dose) if drug.dose else None
    if quantity is not None:
        w.el(dosage, "doseQuantity", value=quantity[0], unit=quantity[1])
    if drug.lot_number:
        instance = w.el(
            w.el(dosage, "consumable", typeCode="CSM"), "instanceOfKind", classCode="INST"
        )
        product = w.el(
            instance, "productInstanceInstance", classCode="MMAT", determinerCode="INSTANCE"
        )
        w.el(product, "lotNumberText", drug.lot_number)
        form = w.el(instance, "kindOfProduct", classCode="MMAT", determinerCode="KIND")
        w.el(form, "formCode", codeSystem=codes.CS_DOSE_FORM)


def _role(w: _Writer, assessment: Any, drug: DrugUse, did: str) -> None:
    node = w.el(
        w.el(assessment, "component", typeCode="COMP"),
        "causalityAssessment",
        classCode="OBS",
        moodCode="EVN",
    )
    w.code(node, "20", codes.CS_OBSERVATION, "interventionCharacterization")
    names = {"1": "Suspect", "2": "Concomitant", "3": "Interacting", "4": "Drug Not Administered"}
    w.el(
        node,
        "value",
        xsi_type="CE",
        code=drug.role,
        codeSystem=codes.CS_DRUG_ROLE,
        displayName=names[drug.role],
    )
    reference = w.el(
        w.el(node, "subject2", typeCode="SUBJ"),
        "productUseReference",
        classCode="SBADM",
        moodCode="EVN",
    )
    w.el(reference, "id", root=did)


def _causality(w: _Writer, assessment: Any, result: str, rid: str, did: str) -> None:
    node = w.el(
        w.el(assessment, "component", typeCode="COMP"),
        "causalityAssessment",
        classCode="OBS",
        moodCode="EVN",
    )
    w.code(node, "39", codes.CS_OBSERVATION, "causality")
    w.el(node, "value", result[:60], xsi_type="ST")
    w.el(w.el(node, "methodCode"), "originalText", "WHO-UMC")
    author = w.el(w.el(node, "author", typeCode="AUT"), "assignedEntity", classCode="ASSIGNED")
    w.el(w.el(author, "code"), "originalText", "Primary source reporter")
    effect = w.el(
        w.el(node, "subject1", typeCode="SUBJ"),
        "adverseEffectReference",
        classCode="OBS",
        moodCode="EVN",
    )
    w.el(effect, "id", root=rid)
    product = w.el(
        w.el(node, "subject2", typeCode="SUBJ"),
        "productUseReference",
        classCode="SBADM",
        moodCode="EVN",
    )
    w.el(product, "id", root=did)
