"""The HTTP connector's client: sends one signed job (or a health ping) to a system's URL.

This is the one seam for outbound HTTP to connected systems: tests replace it or point it at
the example service. Every call goes through the outbound address policy (core/outbound.py:
HTTPS in production, no private or metadata addresses, checked again on connect, no
redirects). It decides what an answer means (a result, accepted for a later callback,
worth retrying, or a permanent failure) and never raises for the system's behaviour; errors
are reported as codes (`timeout`, `http_503`, `address_refused`), never with their text.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings

from core import outbound

from . import signing
from .results import InvalidResult, Result, parse_result

USER_AGENT = "privacy-portal-connector/1"
RETRYABLE_STATUSES = frozenset({408, 425, 429})


@dataclass(frozen=True)
class Outcome:
    """What one send came to. `kind`: "result", "accepted", "retry" or "fail"."""

    kind: str
    error: str = ""
    result: Result | None = None


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


class _TooLarge(Exception):
    pass


def _read_limited(response: requests.Response, limit: int) -> bytes:
    body = bytearray()
    for chunk in response.iter_content(chunk_size=64 * 1024):
        body += chunk
        if len(body) > limit:
            raise _TooLarge
    return bytes(body)


def _post(
    url: str, body: bytes, *, secret: str, key_id: str, timeout: float
) -> tuple[int, bytes] | Outcome:
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "User-Agent": USER_AGENT,
        **signing.sign(body, secret=secret, key_id=key_id),
    }
    try:
        with (
            outbound.GuardedSession() as session,
            session.post(
                url,
                data=body,
                headers=headers,
                timeout=(min(5.0, timeout), timeout),
                stream=True,
            ) as response,
        ):
            return response.status_code, _read_limited(
                response, settings.CONNECTOR_MAX_RESULT_BYTES
            )
    except _TooLarge:
        return Outcome("fail", "result_too_large")
    except outbound.AddressRefused:
        return Outcome("fail", "address_refused")  # a retry cannot change the policy
    except requests.Timeout:
        return Outcome("retry", "timeout")
    except requests.ConnectionError as exc:
        if outbound.refusal_in(exc):  # the name pointed elsewhere on connect (rebinding)
            return Outcome("fail", "address_refused")
        return Outcome("retry", "connection_error")
    except requests.RequestException as exc:
        return Outcome("retry", type(exc).__name__)


def send_job(
    url: str,
    payload: dict[str, Any],
    *,
    secret: str,
    key_id: str,
    timeout: float,
    job_type: str,
) -> Outcome:
    """POST one job; what its answer means for the job.

    Each delivery carries its own `delivery_id`: a retry repeats the job id (the system's
    idempotency key) but is a new message, never mistaken for a replay of the previous one.
    """
    delivery = {**payload, "delivery_id": str(uuid.uuid4())}
    answer = _post(url, encode(delivery), secret=secret, key_id=key_id, timeout=timeout)
    if isinstance(answer, Outcome):
        return answer
    status, body = answer
    if status == 202:
        return Outcome("accepted")
    if status == 200:
        try:
            result = parse_result(json.loads(body), job_id=payload["job_id"], job_type=job_type)
        except (ValueError, InvalidResult):
            return Outcome("fail", "invalid_result")
        return Outcome("result", result=result)
    if status in RETRYABLE_STATUSES or status >= 500:
        return Outcome("retry", f"http_{status}")
    return Outcome("fail", f"http_{status}")


class PingFailed(Exception):
    """The system did not pass the health ping; `code` says how."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def ping(url: str, *, secret: str, key_id: str, timeout: float) -> None:
    """A signed `{"type": "ping"}`: the system must verify it and answer 200 `{"status": "ok"}`."""
    payload = {"type": "ping", "nonce": secrets.token_urlsafe(16)}
    answer = _post(url, encode(payload), secret=secret, key_id=key_id, timeout=timeout)
    if isinstance(answer, Outcome):
        raise PingFailed(answer.error)
    status, body = answer
    if status != 200:
        raise PingFailed(f"http_{status}")
    try:
        ok = json.loads(body).get("status") == "ok"
    except (ValueError, AttributeError):
        ok = False
    if not ok:
        raise PingFailed("unexpected_answer")
