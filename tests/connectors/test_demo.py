"""The demo's connected systems, as `make run` seeds them beside the example product service."""

import pytest

from connectors import vault
from connectors.demo import demo_systems_seed
from connectors.mapping import parse_mapping
from connectors.models import ConnectedSystem
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SECRET = "demo-secret-0123456789-abcdefghijklmnop"
DSN = "postgresql://postgres@127.0.0.1:54329/product_demo"


@pytest.fixture
def staff():
    return UserFactory(is_staff=True, is_superuser=True)


def seed(staff, secret=SECRET, url="http://127.0.0.1:8765/"):
    return demo_systems_seed(actor=staff, product_url=url, secret=secret, dsn=DSN)


def test_the_demo_seeds_the_product_and_its_support_desk_with_sealed_secrets(staff):
    keys = seed(staff)

    product, support = (ConnectedSystem.objects.get(key=k) for k in ("product", "support"))
    assert keys == f"product.1={SECRET}"
    assert (product.kind, vault.unseal(product.secret_encrypted)) == ("http", SECRET)
    assert (support.kind, vault.unseal(support.dsn_encrypted)) == ("database", DSN)
    assert parse_mapping(support.mapping, identifiers=support.identifiers)


def test_seeding_again_changes_nothing_and_a_new_secret_becomes_the_next_key(staff):
    seed(staff)
    assert seed(staff) == f"product.1={SECRET}"

    keys = seed(staff, secret=SECRET[::-1])

    product = ConnectedSystem.objects.get(key="product")
    assert keys == f"product.2={SECRET[::-1]}"
    assert product.previous_key_id == "product.1"
    assert ConnectedSystem.objects.count() == 2


def test_a_run_without_the_example_service_disables_the_demo_systems_until_it_is_back(staff):
    from connectors.demo import demo_systems_disable

    seed(staff)
    assert demo_systems_disable(actor=staff) == 2
    assert not ConnectedSystem.objects.filter(enabled=True).exists()

    seed(staff)

    assert ConnectedSystem.objects.filter(enabled=True).count() == 2
