"""Connected systems under the outbound address policy: an officer cannot point an HTTP or a
database connector inside the portal's own network (nor at a file on its disk) unless the host
is allow-listed, and what the admin says names the rule, never what the address answered."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from connectors import db_connector, http_connector
from connectors.models import ConnectedSystem
from tests.connectors.conftest import SECRET
from tests.connectors.test_admin import ADD, http_system

pytestmark = pytest.mark.django_db


def test_an_internal_url_is_refused_at_save_naming_the_policy_and_never_called(
    officer, product_endpoint, production_policy, monkeypatch
):
    pinged = []
    monkeypatch.setattr(http_connector, "ping", lambda *a, **k: pinged.append(a))
    https_internal = product_endpoint.replace("http://", "https://")

    response = officer.post(ADD, http_system(https_internal))

    page = response.content.decode()
    assert "Refused by the outbound address policy: the address is this machine" in page
    assert "OUTBOUND_ALLOWED_HOSTS" in page
    assert pinged == []
    assert not ConnectedSystem.objects.exists()


def test_plain_http_is_refused_in_production(officer, product_endpoint, production_policy):
    response = officer.post(ADD, http_system(product_endpoint))
    assert "only https:// addresses are allowed" in response.content.decode()


def test_an_allow_listed_internal_host_is_checked_and_saved(
    officer, product_endpoint, production_policy
):
    production_policy.OUTBOUND_HTTPS_ONLY = False  # the example service speaks plain HTTP
    production_policy.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    response = officer.post(ADD, http_system(product_endpoint))
    assert response.status_code == 302
    assert ConnectedSystem.objects.filter(key="product").exists()


def test_a_job_to_an_address_the_policy_refuses_fails_for_good_not_retried(production_policy):
    outcome = http_connector.send_job(
        "https://127.0.0.1:9/",
        {"job_id": "1", "type": "copy"},
        secret=SECRET,
        key_id="product.1",
        timeout=1,
        job_type="copy",
    )
    assert (outcome.kind, outcome.error) == ("fail", "address_refused")


def test_a_health_check_failure_does_not_echo_what_the_address_answered(monkeypatch):
    from connectors import configuration

    def teapot(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise http_connector.PingFailed("http_418")

    monkeypatch.setattr(http_connector, "ping", teapot)
    with pytest.raises(ValidationError) as refused:
        configuration.check_http("http://127.0.0.1:1/", secret=SECRET, key_id="p.1", timeout=1)
    assert "418" not in str(refused.value)
    assert "did not answer as the connector protocol asks" in str(refused.value)


@pytest.mark.parametrize(
    ("dsn", "rule"),
    [
        ("postgresql:///crm", "must name exactly one host"),  # the local socket
        ("host=/var/run/postgresql dbname=crm", "Unix socket"),
        ("postgresql://a,b/crm", "exactly one host"),
        ("postgresql://db.example.com/crm?passfile=/root/.pgpass", "may not set passfile"),
        ("postgresql://db.example.com/crm?service=portal", "may not set service"),
        ("postgresql://db.example.com/crm?options=-c%20role%3Dadmin", "may not set options"),
        ("postgresql://db.example.com/crm?sslkey=/etc/ssl/private/portal.key", "sslkey"),
        ("postgresql://db.example.com/", "names no database"),
        ("postgresql://db.example.com/crm?hostaddr=nonsense", "hostaddr is not an IP address"),
    ],
)
def test_a_dsn_that_reaches_beyond_a_named_database_host_is_refused(dsn, rule):
    with pytest.raises(ValidationError, match=rule):
        db_connector.check_dsn(dsn)


def test_a_dsn_to_a_private_address_is_refused_in_production(production_policy):
    with pytest.raises(ValidationError, match="private network"):
        db_connector.check_dsn("postgresql://crm@10.0.0.7:5432/crm")
    with pytest.raises(ValidationError, match="loopback"):
        db_connector.check_dsn("postgresql://crm@localhost/crm")
    production_policy.OUTBOUND_ALLOWED_HOSTS = ["10.0.0.0/24"]
    db_connector.check_dsn("postgresql://crm@10.0.0.7:5432/crm")


def test_certificate_files_are_allowed_only_from_the_named_directories(settings, tmp_path):
    settings.OUTBOUND_DATABASE_FILE_DIRS = [str(tmp_path)]
    db_connector.check_dsn(f"postgresql://127.0.0.1/crm?sslrootcert={tmp_path}/ca.pem")
    with pytest.raises(ValidationError, match="OUTBOUND_DATABASE_FILE_DIRS"):
        db_connector.check_dsn(f"postgresql://127.0.0.1/crm?sslrootcert={tmp_path}/../ca.pem")


def test_the_connection_goes_to_the_checked_address_with_no_password_from_elsewhere(
    monkeypatch,
):
    seen = {}

    def fake_connect(conninfo, **kwargs):  # type: ignore[no-untyped-def]
        seen.update(db_connector.psycopg.conninfo.conninfo_to_dict(conninfo), **kwargs)
        raise db_connector.psycopg.OperationalError("stop here")

    monkeypatch.setenv("PGPASSWORD", "the-portals-own")
    monkeypatch.setattr(db_connector.psycopg, "connect", fake_connect)
    with (
        pytest.raises(db_connector.ConnectorDatabaseError),
        db_connector.connect("postgresql://crm@localhost:5999/crm"),
    ):
        pass
    assert seen["hostaddr"] in {"127.0.0.1", "::1"}
    assert seen["host"] == "localhost"  # the certificate is checked against the name
    assert seen["password"] == ""
    assert seen["passfile"] == db_connector.os.devnull


def test_a_dsn_the_policy_refuses_at_connect_time_fails_for_good(production_policy):
    with (
        pytest.raises(db_connector.ConnectorDatabaseError) as failed,
        db_connector.connect("postgresql://crm@127.0.0.1/crm"),
    ):
        pass
    assert (failed.value.code, failed.value.transient) == ("address_refused", False)
