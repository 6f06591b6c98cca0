"""Term names in the admin: shipped names read-only and kept, names added here and names
learned from coding visible, filterable and removable; removing one reaches the search."""

import pytest
from django.test import Client
from django.utils import timezone

from reference.models import Term, TermName
from reference.revision import reference_revision
from reference.selectors import term_code, term_search

pytestmark = pytest.mark.django_db

LIST = "/admin/reference/termname/"


@pytest.fixture
def client_admin(admin_account):
    client = Client()
    client.force_login(admin_account)
    return client


@pytest.fixture
def retinal():
    return Term.objects.get(name="Retinal haemorrhage")


@pytest.fixture
def learned(retinal, officer):
    return TermName.objects.create(
        term=retinal,
        text="zorbly flibs in the eye",
        kind="learned",
        added_by=officer,
        added_at=timezone.now(),
    )


def shipped_name():
    return TermName.objects.filter(shipped=True, kind="synonym").select_related("term").first()


def test_learned_names_are_listed_with_who_taught_them(client_admin, learned):
    html = client_admin.get(LIST, {"kind": "learned"}).content.decode()
    assert "zorbly flibs in the eye" in html
    assert "officer1" in html
    assert "Retinal haemorrhage" in html


def test_the_list_filters_by_kind_and_shipped_and_searches(client_admin, learned):
    shipped = client_admin.get(LIST, {"shipped__exact": "1", "q": "zorbly"}).content.decode()
    assert "zorbly flibs in the eye" not in shipped
    found = client_admin.get(LIST, {"shipped__exact": "0", "q": "officer1"}).content.decode()
    assert "zorbly flibs in the eye" in found
    other_kind = client_admin.get(LIST, {"kind": "lay"}).content.decode()
    assert "zorbly flibs in the eye" not in other_kind


def test_removing_a_learned_name_makes_the_search_forget_it(client_admin, learned, retinal):
    assert term_code("zorbly flibs in the eye") == [retinal]
    before = reference_revision()
    response = client_admin.post(f"{LIST}{learned.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not TermName.objects.filter(pk=learned.pk).exists()
    assert reference_revision() != before
    assert term_code("zorbly flibs in the eye") == []
    assert all(m.matched != "zorbly flibs in the eye" for m in term_search(q="zorbly flibs"))


def test_a_shipped_name_cannot_be_removed(client_admin):
    name = shipped_name()
    assert client_admin.post(f"{LIST}{name.pk}/delete/", {"post": "yes"}).status_code == 403
    assert TermName.objects.filter(pk=name.pk).exists()


def test_a_bulk_removal_with_a_shipped_name_in_it_removes_nothing(client_admin, learned):
    name = shipped_name()
    response = client_admin.post(
        LIST,
        {"action": "delete_selected", "_selected_action": [learned.pk, name.pk], "post": "yes"},
    )
    assert response.status_code == 403
    assert TermName.objects.filter(pk__in=[learned.pk, name.pk]).count() == 2


def test_a_bulk_removal_of_learned_names_removes_them(client_admin, learned, retinal):
    other = TermName.objects.create(term=retinal, text="quilted eye wamble", kind="learned")
    response = client_admin.post(
        LIST,
        {"action": "delete_selected", "_selected_action": [learned.pk, other.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not TermName.objects.filter(pk__in=[learned.pk, other.pk]).exists()


def test_a_shipped_name_is_read_only(client_admin):
    name = shipped_name()
    page = client_admin.get(f"{LIST}{name.pk}/change/")
    assert page.status_code == 200
    assert 'name="text"' not in page.content.decode()
    response = client_admin.post(
        f"{LIST}{name.pk}/change/", {"term": name.term_id, "text": "changed", "kind": "lay"}
    )
    assert response.status_code == 403
    name.refresh_from_db()
    assert name.text != "changed"


def test_a_name_added_here_says_who_added_it(client_admin, admin_account, retinal):
    response = client_admin.post(
        f"{LIST}add/", {"term": retinal.pk, "text": "quilted eye wamble", "kind": "lay"}
    )
    assert response.status_code == 302
    name = TermName.objects.get(text="quilted eye wamble")
    assert (name.shipped, name.added_by) == (False, admin_account)
    assert name.added_at is not None


def test_a_name_the_term_has_already_is_a_message_not_an_error_page(client_admin, retinal):
    response = client_admin.post(
        f"{LIST}add/", {"term": retinal.pk, "text": "RETINAL  HEMORRHAGE", "kind": "synonym"}
    )
    assert response.status_code == 200
    assert "already has this name" in response.content.decode()


def test_the_term_page_splits_shipped_names_from_names_added_here(client_admin, learned, retinal):
    html = client_admin.get(f"/admin/reference/term/{retinal.pk}/change/").content.decode()
    assert "Shipped names" in html
    assert "Names added here (site and learned)" in html
    assert "zorbly flibs in the eye" in html


def form_data(response):
    """The POST data of an admin change page as it stands, from its forms."""
    data = {}
    adminform = response.context["adminform"].form
    for name, field in adminform.fields.items():
        value = adminform.initial.get(name, field.initial)
        if value is not None:
            data[name] = value
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for key, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{key}"] = value
        for form in formset.initial_forms:
            for name in form.fields:
                value = form.initial.get(name, form.fields[name].initial)
                if value is not None:
                    data[form.add_prefix(name)] = getattr(value, "pk", value)
    return data


def test_a_name_added_on_the_term_page_is_a_site_name_with_who_added_it(
    client_admin, admin_account, retinal
):
    url = f"/admin/reference/term/{retinal.pk}/change/"
    page = client_admin.get(url)
    data = form_data(page)
    [site] = [i.formset for i in page.context["inline_admin_formsets"] if i.formset.extra]
    new = site.initial_form_count()
    data[f"{site.prefix}-{new}-text"] = "quilted eye wamble"
    data[f"{site.prefix}-{new}-kind"] = "lay"
    data[f"{site.prefix}-TOTAL_FORMS"] = new + 1
    response = client_admin.post(url, data)
    assert response.status_code == 302, response.context and [
        f.errors for i in response.context["inline_admin_formsets"] for f in i.formset.forms
    ]
    name = TermName.objects.get(text="quilted eye wamble")
    assert (name.term, name.shipped, name.added_by) == (retinal, False, admin_account)
    assert name.added_at is not None
