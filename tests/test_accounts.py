from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User

pytestmark = pytest.mark.django_db


def create(*args):
    out = StringIO()
    call_command("create_account", *args, stdout=out)
    return out.getvalue().strip().splitlines()


def test_create_account_prints_the_token_last():
    lines = create(
        "alice", "--role", "nurse", "--password", "s3cret-pass-word", "--site", "St Elsewhere"
    )
    user = User.objects.get(username="alice")
    assert lines[-1] == user.auth_token.key
    assert user.role == "nurse"
    assert user.site is not None and user.site.name == "St Elsewhere"
    assert user.check_password("s3cret-pass-word")


def test_create_account_updates_an_existing_account_and_keeps_its_token():
    first = create("bob", "--role", "nurse")
    second = create("bob", "--role", "safety_officer")
    assert first[-1] == second[-1]
    assert User.objects.get(username="bob").role == "safety_officer"
    assert second[0].startswith("Updated")


def test_an_admin_account_can_use_the_django_admin():
    create("root", "--role", "admin", "--password", "s3cret-pass-word")
    user = User.objects.get(username="root")
    assert user.is_staff and user.is_superuser


def test_an_unknown_role_is_refused():
    with pytest.raises(CommandError):
        create("eve", "--role", "wizard")
    assert not User.objects.filter(username="eve").exists()


def test_setup_demo_prints_the_demo_accounts():
    out = StringIO()
    call_command("setup_demo", stdout=out)
    text = out.getvalue()
    assert "username nurse" in text and "password nurse-demo-pass" in text
    assert "username officer" in text
    nurse = User.objects.get(username="nurse")
    assert nurse.check_password("nurse-demo-pass")
    assert nurse.site is not None


@pytest.mark.parametrize("password", ["123", "password", "12345678901", "carol123"])
def test_a_weak_password_is_refused_with_the_reasons(password):
    with pytest.raises(CommandError, match="password was refused"):
        create("carol", "--role", "nurse", "--password", password)
    assert not User.objects.filter(username="carol").exists()
