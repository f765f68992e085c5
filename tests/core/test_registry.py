"""The registry covers every model related to the user; the system check fails otherwise."""

import pytest
from django.core.checks import run_checks
from django.db import models
from django.test.utils import isolate_apps

from accounts.models import User
from core import registry as registry_module
from core.checks import check_personal_data_registry
from core.registry import PersonalData, Strategy, fixed, registry


def errors(**kwargs):
    return [e for e in check_personal_data_registry(**kwargs) if e.id.startswith("personal_data")]


def test_the_shipped_registry_passes_the_check():
    assert errors() == []


@pytest.mark.parametrize(
    "label",
    [
        "accounts.User",
        "accounts.Profile",
        "accounts.LoginEvent",
        "accounts.AccessLogEntry",
        "account.EmailAddress",
        "socialaccount.SocialAccount",
        "mfa.Authenticator",
        "usersessions.UserSession",
    ],
)
def test_accounts_data_is_registered(label):
    from django.apps import apps

    assert registry.get(apps.get_model(label)) is not None


@isolate_apps("requests_dsar")
def test_an_unregistered_model_related_to_the_user_is_an_error():
    class Forgotten(models.Model):
        owner = models.ForeignKey(User, on_delete=models.CASCADE)

        class Meta:
            app_label = "requests_dsar"

        def __str__(self) -> str:
            return "forgotten"

    from django.apps import apps

    original = apps.get_models

    def with_forgotten(*args, **kwargs):
        return [*original(*args, **kwargs), Forgotten]

    apps.get_models = with_forgotten
    try:
        found = errors()
    finally:
        apps.get_models = original
    assert [e.id for e in found] == ["personal_data.E001"]
    assert "Forgotten" in found[0].msg


def test_a_registered_field_that_no_longer_exists_is_an_error(monkeypatch):
    ghost = PersonalData(
        model_label="accounts.Profile",
        category="profile",
        label="Profile",
        user_path="user",
        fields={"shoe_size": "Shoe size"},
        strategy=Strategy.ANONYMIZE,
        anonymize={"favourite_colour": fixed("")},
    )
    monkeypatch.setattr(registry_module.registry, "_entries", {**registry._entries, "ghost": ghost})
    messages = [e.msg for e in errors()]
    assert any("'shoe_size' does not exist" in m for m in messages)
    assert any("'favourite_colour' does not exist" in m for m in messages)


def test_the_check_runs_with_djangos_checks():
    assert not [e for e in run_checks() if e.id.startswith("personal_data")]
