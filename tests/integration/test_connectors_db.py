"""The database connector on the real parts: the example's support-desk schema in its own
PostgreSQL database, mapped by examples/product_service/support_mapping.yaml."""

from pathlib import Path

import psycopg
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from connectors import configuration, selectors, services, vault
from connectors.mapping import load_text
from connectors.models import ConnectedSystem, ConnectorJob, JobStatus
from tests.connectors.product import product_database, query, seed, wait_for
from tests.factories import DataSubjectRequestFactory, StaffFactory, UserFactory
from tests.requests_dsar.staff import signed_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

MAPPING = Path(__file__).resolve().parents[2] / "examples/product_service/support_mapping.yaml"
CATEGORIES = ["support_tickets", "support_surveys", "support_refunds"]


@pytest.fixture
def support_db():
    with product_database() as dsn:
        yield dsn


@pytest.fixture
def customer(support_db):
    user = UserFactory()
    with psycopg.connect(support_db) as conn:
        seed.seed_listener(conn, user.email)
        seed.seed_listener(conn, "someone.else@example.org")
    return user


def support_system(dsn):
    return ConnectedSystem.objects.create(
        key="support",
        name="Support desk",
        owner_team="Customer care",
        kind="database",
        categories=CATEGORIES,
        request_types=["access", "copy", "delete"],
        identifiers=["email"],
        dsn_encrypted=vault.seal(dsn),
        mapping=load_text(MAPPING.read_text()),
        retry_base_seconds=1,
    )


def settled(request):
    def job_settled():
        job = ConnectorJob.objects.get(request=request)
        return job if job.status in (JobStatus.DONE, JobStatus.FAILED) else None

    return job_settled


def test_an_officer_saves_the_mapping_after_a_dry_run_that_counts_the_sample(support_db, customer):
    client = signed_in(StaffFactory())
    form = {
        "key": "support",
        "name": "Support desk",
        "owner_team": "Customer care",
        "kind": "database",
        "enabled": "on",
        "categories_text": ", ".join(CATEGORIES),
        "request_types": ["copy", "delete"],
        "identifiers": ["email"],
        "dsn": support_db,
        "mapping_text": MAPPING.read_text(),
        "sample_identifier": customer.email,
        "timeout_seconds": "10",
        "max_attempts": "8",
        "retry_base_seconds": "30",
        "failure_threshold": "5",
        "cooldown_seconds": "300",
    }

    response = client.post(reverse("admin:connectors_connectedsystem_add"), form, follow=True)

    assert "Dry run passed: 4 tables" in response.content.decode()
    assert "support.ticket_messages: 2 rows" in response.content.decode()
    assert support_db not in ConnectedSystem.objects.get().dsn_encrypted


def test_a_mapping_naming_a_missing_column_is_refused_by_the_dry_run(support_db):
    mapping = load_text(MAPPING.read_text().replace("respondent_ip: null", "ip_addr: null"))

    with pytest.raises(ValidationError) as refused:
        configuration.check_database(
            support_db, mapping, identifiers=["email"], categories=CATEGORIES
        )

    assert refused.value.messages == [
        "mapping.tables[1]: erased column support.satisfaction_surveys.ip_addr does not exist."
    ]


def test_a_mapping_naming_a_missing_column_is_refused_in_the_admin_and_nothing_saved(support_db):
    client = signed_in(StaffFactory())
    form = {
        "key": "support",
        "name": "Support desk",
        "owner_team": "Customer care",
        "kind": "database",
        "enabled": "on",
        "categories_text": ", ".join(CATEGORIES),
        "request_types": ["copy", "delete"],
        "identifiers": ["email"],
        "dsn": support_db,
        "mapping_text": MAPPING.read_text().replace("respondent_ip: null", "ip_addr: null"),
        "timeout_seconds": "10",
        "max_attempts": "8",
        "retry_base_seconds": "30",
        "failure_threshold": "5",
        "cooldown_seconds": "300",
    }

    response = client.post(reverse("admin:connectors_connectedsystem_add"), form)

    assert response.status_code == 200  # the form again, with the error under the mapping
    assert response.context["adminform"].form.errors["mapping_text"] == [
        "mapping.tables[1]: erased column support.satisfaction_surveys.ip_addr does not exist."
    ]
    assert not ConnectedSystem.objects.exists()


def test_a_copy_request_exports_the_support_desk_rows_through_the_mapping(
    celery_worker_process, support_db, customer
):
    support_system(support_db)
    request = DataSubjectRequestFactory(type="copy", subject=customer)

    services.jobs_for_request(request=request)

    job = wait_for(settled(request))
    data = selectors.job_result_data(job)
    assert job.status == JobStatus.DONE
    assert len(data["support_tickets"]) == 3  # two messages and the ticket itself
    assert data["support_surveys"][0]["comment"] == "Quick answer, thanks"


def test_a_deletion_applies_each_tables_strategy_in_one_transaction(
    celery_worker_process, support_db, customer
):
    support_system(support_db)
    request = DataSubjectRequestFactory(type="delete", subject=customer)

    services.jobs_for_request(request=request)

    job = wait_for(settled(request))
    lines = {line["table"]: line for line in job.result_summary["tables"]}
    assert lines["support.ticket_messages"]["rows"] == 2
    assert lines["support.refunds"]["strategy"] == "retain"
    (email, subject, created), *others = query(
        support_db,
        "SELECT customer_email, subject, created_at FROM support.tickets ORDER BY customer_email",
    )
    assert email.endswith("@erased.invalid") and subject == "[erased]"
    assert (created.month, created.day) == (1, 1)
    assert [o[0] for o in others] == ["someone.else@example.org"]
    assert query(support_db, "SELECT count(*) FROM support.ticket_messages") == [(2,)]


def test_an_unreachable_database_is_retried_then_failed_without_a_message_leaking(
    celery_worker_process,
):
    system = support_system("postgresql://nobody@127.0.0.1:1/none")
    ConnectedSystem.objects.filter(pk=system.pk).update(max_attempts=2, failure_threshold=10)
    request = DataSubjectRequestFactory(type="copy")

    services.jobs_for_request(request=request)

    job = wait_for(settled(request), timeout=90)
    assert (job.status, job.attempts) == (JobStatus.FAILED, 2)
    assert job.last_error == "db:unreachable:OperationalError"
