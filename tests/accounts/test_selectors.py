"""Reads of the accounts app that are more than a filter."""

import pytest

from accounts.selectors import staff_addresses_with
from tests.factories import PrivacyOfficerFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_permission_that_does_not_exist_reaches_superusers_only():
    superuser = StaffFactory()
    UserFactory(is_staff=True)  # staff without any direct permission
    PrivacyOfficerFactory()

    assert staff_addresses_with("accounts", "no_such_permission") == [superuser.email]


def test_staff_holding_the_permission_through_a_group_are_reached():
    superuser = StaffFactory()
    officer = PrivacyOfficerFactory()
    UserFactory(is_staff=True)

    addresses = staff_addresses_with("guardianship", "change_guardiandocument")

    assert addresses == sorted([superuser.email, officer.email])
