"""A consent decision is told its actor's role by a caller that knows it (the guardianship app,
for a guardian); otherwise the role is derived: the user themselves, staff or the system, and
anyone else is refused. consent never asks the guardianship app who is a guardian."""

import pytest
from django.core.exceptions import PermissionDenied

from consent import services
from consent.models import ConsentActor, ConsentEvent, Method
from tests.factories import PurposeFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_stranger_who_is_not_staff_and_not_told_to_be_a_guardian_is_refused():
    user, stranger = UserFactory(), UserFactory()
    purpose = PurposeFactory()
    for decide in (services.consent_give, services.consent_refuse):
        with pytest.raises(PermissionDenied):
            decide(user=user, purpose=purpose, method=Method.API, actor=stranger)
    assert not ConsentEvent.objects.exists()
    services.consent_give(user=user, purpose=purpose, method=Method.API, actor=user)
    with pytest.raises(PermissionDenied):
        services.consent_withdraw(user=user, purpose=purpose, method=Method.API, actor=stranger)
    assert ConsentEvent.objects.count() == 1


def test_the_role_told_by_the_caller_is_the_one_recorded():
    user, guardian = UserFactory(), UserFactory()
    purpose = PurposeFactory()
    event = services.consent_give(
        user=user,
        purpose=purpose,
        method=Method.GUARDIAN,
        actor=guardian,
        role=ConsentActor.GUARDIAN,
    )
    assert event is not None and event.actor == ConsentActor.GUARDIAN


def test_without_a_told_role_the_user_staff_and_system_are_derived():
    user, officer = UserFactory(), UserFactory(is_staff=True)
    purpose = PurposeFactory()
    given = services.consent_give(user=user, purpose=purpose, method=Method.API, actor=user)
    assert given is not None and given.actor == ConsentActor.SELF
    withdrawn = services.consent_withdraw(
        user=user, purpose=purpose, method=Method.API, actor=officer
    )
    assert withdrawn is not None and withdrawn.actor == ConsentActor.STAFF
    services.consent_give(user=user, purpose=purpose, method=Method.API, actor=user)
    by_system = services.consent_withdraw(user=user, purpose=purpose, method=Method.API, actor=None)
    assert by_system is not None and by_system.actor == ConsentActor.SYSTEM
