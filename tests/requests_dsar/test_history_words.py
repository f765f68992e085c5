"""A request's history steps, as staff read them in admin: in words, never "∅ → pending"."""

from __future__ import annotations

import pytest

from requests_dsar.models import RequestEvent


@pytest.mark.parametrize(
    ("from_status", "to_status", "read"),
    [
        ("", "identity_unverified", "Waiting for identity verification"),
        ("pending", "in_progress", "Received → In progress"),
        ("", "", "Note"),
    ],
)
def test_a_history_step_reads_in_words(from_status, to_status, read):
    step = RequestEvent(from_status=from_status, to_status=to_status, actor_role="system")
    assert str(step) == read
