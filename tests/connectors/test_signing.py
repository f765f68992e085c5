"""Message signatures: HMAC-SHA256 over "timestamp.body", two keys during a rotation."""

import pytest

from connectors import signing

BODY = b'{"job_id": "1"}'
KEYS = {"product.2": "new-secret", "product.1": "old-secret"}


def test_a_message_signed_with_the_current_key_verifies():
    headers = signing.sign(BODY, secret="new-secret", key_id="product.2", now=1000)
    assert signing.verify(BODY, headers, keys=KEYS, window=300, now=1100) == "product.2"


def test_the_previous_key_is_still_accepted_during_a_rotation():
    headers = signing.sign(BODY, secret="old-secret", key_id="product.1", now=1000)
    assert signing.verify(BODY, headers, keys=KEYS, window=300, now=1000) == "product.1"


@pytest.mark.parametrize(
    ("body", "now", "code"),
    [
        (b'{"job_id": "2"}', 1000, "mismatch"),  # tampered body
        (BODY, 1000 + 301, "stale"),  # outside the replay window
        (BODY, 1000 - 301, "stale"),  # from the future
    ],
)
def test_a_tampered_or_stale_message_is_refused(body, now, code):
    headers = signing.sign(BODY, secret="new-secret", key_id="product.2", now=1000)
    with pytest.raises(signing.SignatureError) as refused:
        signing.verify(body, headers, keys=KEYS, window=300, now=now)
    assert refused.value.code == code


def test_a_key_no_longer_listed_is_refused():
    headers = signing.sign(BODY, secret="older", key_id="product.0", now=1000)
    with pytest.raises(signing.SignatureError) as refused:
        signing.verify(BODY, headers, keys=KEYS, window=300, now=1000)
    assert refused.value.code == "unknown_key"


def test_an_unsigned_message_is_refused():
    with pytest.raises(signing.SignatureError) as refused:
        signing.verify(BODY, {}, keys=KEYS, window=300)
    assert refused.value.code == "missing"
