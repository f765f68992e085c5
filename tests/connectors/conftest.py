"""Fixtures of the connector tests: a signed-in officer, and the example service answering."""

import argparse
import threading

import pytest

from tests.conftest import free_port
from tests.connectors.product import example_module
from tests.factories import PrivacyOfficerFactory
from tests.requests_dsar.staff import signed_in

product = example_module("service")
SECRET = "a-fresh-shared-secret-for-the-product-0123456789"


@pytest.fixture
def officer():
    return signed_in(PrivacyOfficerFactory())


@pytest.fixture
def product_endpoint():
    """The example service's endpoint in a thread: it answers signed pings (no database)."""
    port = free_port()
    args = argparse.Namespace(
        dsn="", mode="immediate", window=300, fail_first=0, slow_first=0, slow_seconds=0
    )
    server = product.Server(("127.0.0.1", port), product.Service(args, {"product.1": SECRET}))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}/"
    server.shutdown()
    server.server_close()
