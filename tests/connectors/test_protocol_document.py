"""The published protocol (docs/connector-openapi.yaml) describes what the portal really sends
and accepts: the document and the code cannot drift apart unnoticed."""

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from connectors import services, vault
from tests.connectors.factories import ConnectorJobFactory

DOCUMENT = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "docs/connector-openapi.yaml").read_text()
)


def validator(name):
    # OpenAPI 3.1 schemas are JSON Schema 2020-12; their $refs point into `components`.
    schema = {**DOCUMENT["components"]["schemas"][name], "components": DOCUMENT["components"]}
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.django_db
def test_a_job_the_portal_sends_follows_the_published_description():
    job = ConnectorJobFactory(
        type="withdraw_consent", scope={"categories": None, "purposes": ["ads"]}
    )
    payload = services.protocol_payload(job, json.loads(vault.unseal(job.subject_sealed)))

    validator("Job").validate({**payload, "delivery_id": "5d0f2b8e-2c61-4bb2-9a57-3f0b9e3e2a41"})


def test_the_documented_result_shapes_are_what_the_portal_parses():
    from connectors.results import parse_result

    job_id = "0b5a4c3e-7d8f-4f4e-9f43-1f7a2d6c5b10"
    export = {"job_id": job_id, "status": "done", "data": {"play_history": [{"t": 1}]}}
    erase = {"job_id": job_id, "status": "done", "counts": {"purchases": 2}, "confirmation": "x"}

    for result, job_type in ((export, "export"), (erase, "erase")):
        validator("Result").validate(result)
        assert parse_result(result, job_id=job_id, job_type=job_type).done
