"""Drugs of the formulary: a name, its slug for URLs and its brand names."""

from collections.abc import Sequence

from django.utils.text import slugify

from ..models import Drug
from ..normalize import name_key
from ..selectors import DrugNames as DrugNames
from ..selectors import drug_find as drug_find


class DrugNameError(ValueError):
    pass


def _clean(text: str) -> str:
    return " ".join(text.split())


def drug_get_or_create(*, name: str, brand_names: Sequence[str] = (), slug: str = "") -> Drug:
    """The drug a name refers to, created when it is new.

    Raises DrugNameError when the name is empty, gives no slug, or its slug or a
    brand name is already another drug's.
    """
    name = _clean(name)
    brands = list(dict.fromkeys(b for b in (_clean(b) for b in brand_names) if b))
    if not name:
        raise DrugNameError("the drug has no name")
    if any("\x00" in n for n in (name, slug, *brands)):
        raise DrugNameError("the drug name holds a NUL character")
    if len(name) > Drug._meta.get_field("name").max_length:  # type: ignore[operator]
        raise DrugNameError(f"the drug name {name[:40]!r}... is too long")
    drug = drug_find(name)
    if drug is None:
        new_slug = slugify(slug.strip() or name)[:100].strip("-")
        if not new_slug and not slug.strip() and name_key(name):
            # A name with no Latin letter (Тошнотин): a numbered slug stands for it in URLs.
            taken_slugs = set(
                Drug.objects.filter(slug__startswith="drug").values_list("slug", flat=True)
            )
            candidates = ["drug", *(f"drug-{n}" for n in range(2, len(taken_slugs) + 2))]
            new_slug = next(s for s in candidates if s not in taken_slugs)
        if not new_slug:
            raise DrugNameError(
                f"the drug name {name!r} gives no slug (URL name); use letters or digits"
            )
        taken = Drug.objects.filter(slug=new_slug).first()
        if taken is not None:
            raise DrugNameError(
                f"the slug {new_slug!r} of {name!r} is already used by the drug "
                f"{taken.name!r}; import under that name or choose another name"
            )
        for brand in brands:
            owner = drug_find(brand)
            if owner is not None:
                raise DrugNameError(
                    f"the brand name {brand!r} already names the drug {owner.name!r}"
                )
        return Drug.objects.create(name=name, slug=new_slug, brand_names=brands)
    known = {b.casefold() for b in drug.brand_names}
    added = [b for b in brands if b.casefold() not in known]
    if added:
        drug.brand_names = sorted([*drug.brand_names, *added])
        drug.save(update_fields=["brand_names"])
    return drug
