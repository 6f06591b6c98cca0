import factory

from accounts.models import Site
from reports.models import Exposure, Patient


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"site-{n}")
    name = factory.LazyAttribute(lambda o: o.code.replace("-", " ").title())


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    site = factory.SubFactory(SiteFactory)
    reference = factory.Sequence(lambda n: f"PT-{n:05d}")
    age = 50
    sex = "female"


class ExposureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Exposure

    patient = factory.SubFactory(PatientFactory)
    drug = None
    start_date = factory.Faker("date_between", start_date="-90d", end_date="-30d")


def reaction(term="Nausea", **extra):
    return {"term": term, "onset_date": "2026-10-09", "grade": 1, **extra}


def report_payload(*reactions, patient="PT-0001", **extra):
    return {
        "patient": {"reference": patient, "age": 54, "sex": "female", "weight_kg": 70.5},
        "drug": "inotuzumab-ozogamicin",
        "therapy_start": "2026-10-01",
        "dose": "0.8 mg/m2",
        "route": "intravenous",
        "lot_number": "AB123",
        "reactions": list(reactions) or [reaction()],
        "narrative": "free text",
        **extra,
    }
