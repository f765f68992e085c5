"""Database mappings: their shape and names are checked before anything touches a database."""

from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from connectors.mapping import load_text, parse_mapping
from core.registry import Strategy

SAMPLE = Path(__file__).resolve().parents[2] / "examples/product_service/support_mapping.yaml"


def table(**overrides):
    return {
        "table": "tickets",
        "category": "support_tickets",
        "match": {"identifier": "email", "column": "customer_email"},
        "export": ["subject"],
        "erase": {"strategy": "delete"},
        **overrides,
    }


def problems(data, **kwargs):
    with pytest.raises(ValidationError) as refused:
        parse_mapping(data, **kwargs)
    return " ".join(refused.value.messages)


def test_the_sample_mapping_uses_the_registrys_strategies_and_anonymizers():
    mapping = parse_mapping(load_text(SAMPLE.read_text()), identifiers=["email"])

    strategies = [t.strategy for t in mapping.tables]
    assert strategies == [Strategy.DELETE, Strategy.ANONYMIZE, Strategy.RETAIN, Strategy.ANONYMIZE]
    assert str(mapping.tables[3].columns[0].anonymizer) == "erased_email"


def test_an_unknown_anonymizer_is_refused_naming_the_known_ones():
    erase = {"strategy": "anonymize", "columns": {"body": "scramble"}}

    message = problems({"tables": [table(erase=erase)]})

    assert "mapping.tables[0].erase.columns.body" in message
    assert "erased_email" in message


def test_retaining_rows_needs_a_legal_basis():
    assert "legal_basis" in problems({"tables": [table(erase={"strategy": "retain"})]})


def test_a_table_matching_on_an_identifier_the_system_does_not_receive_is_refused():
    message = problems({"tables": [table()]}, identifiers=["user_id"])

    assert "not configured to receive" in message


def test_a_name_that_could_smuggle_sql_is_refused():
    assert "does not match" in problems({"tables": [table(table='tickets"; DROP TABLE x; --')]})


def test_yaml_that_does_not_parse_is_refused_with_its_line():
    with pytest.raises(ValidationError, match=r"\(line \d+, column \d+\)"):
        load_text("tables:\n  - {table: [unclosed\n")
