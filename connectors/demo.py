"""The demo's connected systems (`make run`): the example product service and its support desk.

`make run` starts examples/product_service beside the portal on a throwaway PostgreSQL server
when one can be started (scripts/run.sh), then `seed_demo` seeds this part (`DEMO_PART`) so that a
newcomer's copy or deletion request reaches them. Idempotent: a second run changes only what
differs (a new address, secret or DSN).
"""

from __future__ import annotations

from argparse import ArgumentParser
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.conf import settings

from accounts.demo import DemoPart
from accounts.models import User

from . import vault
from .configuration import connected_system_save
from .mapping import load_text
from .models import ConnectedSystem, Identifier, Kind
from .services import JOB_TYPES

EXAMPLE = Path(settings.BASE_DIR) / "examples" / "product_service"
PRODUCT_CATEGORIES = ["account", "search_history", "play_history", "purchases"]
SUPPORT_CATEGORIES = ["support_tickets", "support_surveys", "support_refunds"]
DEMO_KEYS = ("product", "support")
# Every request type a connector carries (all but questions and complaints).
ALL_TYPES = [str(request_type) for request_type in JOB_TYPES]


def _product(url: str, secret: str, actor: User) -> ConnectedSystem:
    system = ConnectedSystem.objects.filter(key="product").first() or ConnectedSystem(
        key="product",
        name="Product",
        owner_team="Product engineering",
        description="The track-listening product: listeners, searches, plays, purchases.",
        kind=Kind.HTTP,
        categories=PRODUCT_CATEGORIES,
        request_types=ALL_TYPES,
        identifiers=[Identifier.EMAIL],
        retry_base_seconds=5,
    )
    same_secret = bool(system.secret_encrypted) and vault.unseal(system.secret_encrypted) == secret
    if system.pk and system.enabled and system.url == url and same_secret:
        return system
    system.url, system.enabled = url, True
    return connected_system_save(
        system=system,
        actor=actor,
        changed=["url", "enabled"],
        new_secret="" if same_secret else secret,
    )


def _support(dsn: str, actor: User) -> ConnectedSystem:
    system = ConnectedSystem.objects.filter(key="support").first() or ConnectedSystem(
        key="support",
        name="Support desk",
        owner_team="Customer care",
        description="Support tickets, satisfaction surveys and refunds.",
        kind=Kind.DATABASE,
        categories=SUPPORT_CATEGORIES,
        request_types=["access", "copy", "transfer", "delete"],
        identifiers=[Identifier.EMAIL],
        retry_base_seconds=5,
    )
    mapping = load_text((EXAMPLE / "support_mapping.yaml").read_text())
    same_dsn = bool(system.dsn_encrypted) and vault.unseal(system.dsn_encrypted) == dsn
    if system.pk and system.enabled and same_dsn and system.mapping == mapping:
        return system
    system.mapping, system.enabled = mapping, True
    return connected_system_save(
        system=system, actor=actor, changed=["mapping", "enabled"], new_dsn="" if same_dsn else dsn
    )


def demo_systems_seed(*, actor: User, product_url: str, secret: str, dsn: str) -> str:
    """Create or update the two demo systems; returns the product service's key setting
    (`PRODUCT_SERVICE_KEYS`: the current key id and its secret)."""
    product = _product(product_url, secret, actor)
    _support(dsn, actor)
    return f"{product.key_id}={secret}"


def demo_systems_disable(*, actor: User) -> int:
    """The example service is not running this time: the demo systems an earlier run registered
    are disabled, so requests do not wait on a service that is not there. Returns how many."""
    disabled = 0
    for system in ConnectedSystem.objects.filter(key__in=DEMO_KEYS, enabled=True):
        system.enabled = False
        connected_system_save(system=system, actor=actor, changed=["enabled"])
        disabled += 1
    return disabled


def _arguments(parser: ArgumentParser) -> None:
    parser.add_argument(
        "--product-url",
        default="",
        help="Where the example product service answers (scripts/run.sh starts it).",
    )
    parser.add_argument(
        "--product-secret-file", default="", help="A file holding its shared secret."
    )
    parser.add_argument("--support-dsn", default="", help="The support desk's database DSN.")
    parser.add_argument(
        "--product-keys-file",
        default="",
        help="Where to write the product service's PRODUCT_SERVICE_KEYS setting.",
    )


def _seed(staff: User | None, options: Mapping[str, Any]) -> str:
    """The example product service and support desk, when scripts/run.sh started them."""
    assert staff is not None
    url, dsn = str(options.get("product_url") or ""), str(options.get("support_dsn") or "")
    secret_file = str(options.get("product_secret_file") or "")
    if not (url and dsn and secret_file):
        demo_systems_disable(actor=staff)
        return "none (the example product service was not started)"
    keys = demo_systems_seed(
        actor=staff,
        product_url=url,
        secret=Path(secret_file).read_text().strip(),
        dsn=dsn,
    )
    keys_file = str(options.get("product_keys_file") or "")
    if keys_file:
        Path(keys_file).write_text(keys + "\n")
        Path(keys_file).chmod(0o600)
    return f"Product at {url} (HTTP connector), Support desk (database connector)"


DEMO_PART = DemoPart(key="connectors", seed=_seed, label="Connected", arguments=_arguments)
