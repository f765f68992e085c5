"""The demo product's connector endpoint: the portal's HTTP connector protocol, standard library
and psycopg only (docs/connector-protocol.md).

    PRODUCT_SERVICE_KEYS="product.1=<secret>" python examples/product_service/service.py \\
        --dsn postgresql://... --port 8765 [--mode immediate|callback]

What it does with each POST to `/`:

1. Checks the signature (HMAC-SHA256 over "<timestamp>.<body>", current or previous key) and the
   timestamp (replay window): 401 otherwise.
2. Refuses a signed message it has already seen (409): a captured message replayed.
3. A `ping` answers `{"status": "ok"}`. A job is recorded by its `job_id` before any work, in the
   same transaction as the work: a job received again (a retry after a timeout, a lost answer)
   gets the stored result, and is never carried out twice.
4. `--mode immediate` answers 200 with the result; `--mode callback` answers 202, does the work,
   then POSTs the signed result to the job's `callback_url` (retrying a few times).

Fault injection for tests: `--fail-first N` answers 500 to the first N jobs; `--slow-first N
--slow-seconds S` does the first N jobs' work but waits S seconds before committing and answering.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

logger = logging.getLogger("product_service")

MAX_BODY = 1024 * 1024
CATEGORIES = ("account", "search_history", "play_history", "purchases")
JOB_TYPES = ("export", "erase", "correct", "withdraw_consent", "restrict")


# --- Signatures (the protocol's "Signatures" section) ---------------------------------------


def compute(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(body: bytes, key_id: str, secret: str) -> dict[str, str]:
    timestamp = int(time.time())
    return {
        "X-Portal-Key-Id": key_id,
        "X-Portal-Timestamp": str(timestamp),
        "X-Portal-Signature": f"v1={compute(secret, timestamp, body)}",
    }


def verify(body: bytes, headers: Any, keys: Mapping[str, str], window: int) -> str:
    """'' when the signature is good, otherwise why not."""
    key_id = headers.get("X-Portal-Key-Id") or ""
    timestamp = headers.get("X-Portal-Timestamp") or ""
    scheme, _sep, signature = (headers.get("X-Portal-Signature") or "").partition("=")
    if not key_id or not timestamp.isdigit() or scheme != "v1":
        return "unsigned or malformed signature headers"
    if abs(time.time() - int(timestamp)) > window:
        return "timestamp outside the replay window"
    secret = keys.get(key_id)
    if secret is None:
        return "unknown key id"
    if not hmac.compare_digest(compute(secret, int(timestamp), body), signature):
        return "signature mismatch"
    return ""


# --- The product's data ------------------------------------------------------------------------


def _listener(cur: Any, identifiers: Mapping[str, str]) -> Any:
    if identifiers.get("email"):
        row = cur.execute(
            "SELECT * FROM product.listeners WHERE lower(email) = lower(%s) FOR UPDATE",
            (identifiers["email"],),
        ).fetchone()
        if row:
            return row
    if identifiers.get("phone"):
        return cur.execute(
            "SELECT * FROM product.listeners WHERE phone = %s FOR UPDATE", (identifiers["phone"],)
        ).fetchone()
    return None


def _json_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return json.loads(json.dumps(rows, default=str))


def do_export(cur: Any, listener: Any, categories: list[str] | None) -> dict[str, Any]:
    wanted = set(categories or CATEGORIES)
    data: dict[str, Any] = {}
    if listener is None:
        return {"job_status": "done", "data": {}}
    lid = listener["id"]
    queries = {
        "account": (
            "SELECT email, phone, display_name, country, marketing_allowed, created_at "
            "FROM product.listeners WHERE id = %s"
        ),
        "search_history": "SELECT query, searched_at FROM product.searches WHERE listener_id = %s "
        "ORDER BY searched_at",
        "play_history": "SELECT track_title, artist, device, played_at FROM product.plays "
        "WHERE listener_id = %s ORDER BY played_at",
        "purchases": "SELECT item, amount_cents, currency, card_last4, purchased_at "
        "FROM product.purchases WHERE listener_id = %s ORDER BY purchased_at",
    }
    for category, query in queries.items():
        if category in wanted:
            data[category] = _json_rows(cur.execute(query, (lid,)).fetchall())
    return {"job_status": "done", "data": data}


def do_erase(cur: Any, listener: Any, categories: list[str] | None) -> dict[str, Any]:
    counts = {c: 0 for c in (categories or CATEGORIES)}
    if listener is None:
        return {"job_status": "done", "counts": counts, "confirmation": "no such listener"}
    lid = listener["id"]
    if "search_history" in counts:
        counts["search_history"] = cur.execute(
            "DELETE FROM product.searches WHERE listener_id = %s", (lid,)
        ).rowcount
    if "play_history" in counts:
        counts["play_history"] = cur.execute(
            "DELETE FROM product.plays WHERE listener_id = %s", (lid,)
        ).rowcount
    if "purchases" in counts:
        # Kept for the accounts (amounts), no longer linked to the person.
        counts["purchases"] = cur.execute(
            "UPDATE product.purchases SET listener_id = NULL, card_last4 = NULL "
            "WHERE listener_id = %s",
            (lid,),
        ).rowcount
    if "account" in counts:
        if categories is None:
            # The whole account goes only with everything else.
            counts["account"] = cur.execute(
                "DELETE FROM product.listeners WHERE id = %s", (lid,)
            ).rowcount
        else:
            counts.pop("account")
    return {"job_status": "done", "counts": counts, "confirmation": f"erasure-{uuid.uuid4()}"}


def do_flag(cur: Any, listener: Any, *, restrict: bool) -> dict[str, Any]:
    """Consent withdrawn: no more marketing. Restricted: no optional processing at all."""
    if listener is None:
        return {"job_status": "done", "counts": {"account": 0}}
    cur.execute(
        "UPDATE product.listeners SET marketing_allowed = false, "
        "processing_restricted = processing_restricted OR %s WHERE id = %s",
        (restrict, listener["id"]),
    )
    return {"job_status": "done", "counts": {"account": 1}}


def do_correct(cur: Any, listener: Any, changes: list[Any]) -> dict[str, Any]:
    applied = 0
    if listener is not None:
        for change in changes:
            if change.get("field") == "nickname":
                cur.execute(
                    "UPDATE product.listeners SET display_name = %s WHERE id = %s",
                    (str(change.get("value", "")), listener["id"]),
                )
                applied += 1
    return {"job_status": "done", "counts": {"account": applied}}


def carry_out(cur: Any, job: dict[str, Any]) -> dict[str, Any]:
    """Do one job's work in the caller's transaction; returns the protocol's result."""
    listener = _listener(cur, job.get("identifiers") or {})
    scope = job.get("scope") or {}
    categories = scope.get("categories")
    kind = job["type"]
    if kind == "export":
        outcome = do_export(cur, listener, categories)
    elif kind == "erase":
        outcome = do_erase(cur, listener, categories)
    elif kind == "withdraw_consent":
        outcome = do_flag(cur, listener, restrict=False)
    elif kind == "restrict":
        outcome = do_flag(cur, listener, restrict=True)
    else:
        outcome = do_correct(cur, listener, scope.get("changes") or [])
    result = {"job_id": job["job_id"], "status": outcome.pop("job_status")}
    result.update(outcome)
    return result


# --- The HTTP side -------------------------------------------------------------------------------


class Service:
    def __init__(self, args: argparse.Namespace, keys: dict[str, str]) -> None:
        self.dsn = args.dsn
        self.mode = args.mode
        self.window = args.window
        self.keys = keys
        self.current_key = next(iter(keys.items()))
        self.lock = threading.Lock()
        self.fail_remaining = args.fail_first
        self.slow_remaining = args.slow_first
        self.slow_seconds = args.slow_seconds

    def take(self, counter: str) -> bool:
        with self.lock:
            left = getattr(self, counter)
            if left > 0:
                setattr(self, counter, left - 1)
                return True
            return False

    def connect(self) -> Any:  # a psycopg connection whose rows are dicts
        return psycopg.connect(self.dsn, row_factory=psycopg.rows.dict_row)

    def seen_before(self, signature: str) -> bool:
        with self.connect() as conn:
            conn.execute(
                "DELETE FROM product.seen_signatures "
                "WHERE seen_at < now() - make_interval(secs => %s)",
                (2 * self.window,),
            )
            inserted = conn.execute(
                "INSERT INTO product.seen_signatures (signature) VALUES (%s) "
                "ON CONFLICT DO NOTHING",
                (signature,),
            ).rowcount
        return inserted == 0

    def handle_job(self, job: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        slow = self.take("slow_remaining")
        with self.connect() as conn, conn.cursor() as cur:
            inserted = cur.execute(
                "INSERT INTO product.connector_jobs "
                "(job_id, type, request_id, status, callback_url) "
                "VALUES (%s, %s, %s, 'received', %s) ON CONFLICT (job_id) DO NOTHING",
                (job["job_id"], job["type"], job["request_id"], job.get("callback_url")),
            ).rowcount
            if not inserted:
                # Waits for a first delivery still at work, then answers as it did.
                row = cur.execute(
                    "UPDATE product.connector_jobs SET times_received = times_received + 1 "
                    "WHERE job_id = %s RETURNING type, request_id, status, result",
                    (job["job_id"],),
                ).fetchone()
                if row["type"] != job["type"] or row["request_id"] != job["request_id"]:
                    return 409, {"detail": "this job id was used for another job"}
                if row["status"] == "done":
                    return 200, row["result"]
                return 202, {"job_id": job["job_id"], "status": "accepted"}
            if self.mode == "callback":
                cur.execute(
                    "UPDATE product.connector_jobs SET status = 'accepted' WHERE job_id = %s",
                    (job["job_id"],),
                )
                conn.commit()
                threading.Thread(target=self.complete_later, args=(job,), daemon=True).start()
                return 202, {"job_id": job["job_id"], "status": "accepted"}
            result = carry_out(cur, job)
            cur.execute(
                "UPDATE product.connector_jobs SET status = 'done', result = %s, done_at = now() "
                "WHERE job_id = %s",
                (Jsonb(result), job["job_id"]),
            )
            if slow:
                time.sleep(self.slow_seconds)
        logger.info("job %s (%s): done", job["job_id"], job["type"])
        return 200, result

    def complete_later(self, job: dict[str, Any]) -> None:
        """Callback mode: the work, then the signed result to the portal's callback URL."""
        with self.connect() as conn, conn.cursor() as cur:
            row = cur.execute(
                "SELECT status, result FROM product.connector_jobs WHERE job_id = %s FOR UPDATE",
                (job["job_id"],),
            ).fetchone()
            if row["status"] == "done":
                result = row["result"]
            else:
                result = carry_out(cur, job)
                cur.execute(
                    "UPDATE product.connector_jobs SET status = 'done', result = %s, "
                    "done_at = now() WHERE job_id = %s",
                    (Jsonb(result), job["job_id"]),
                )
        body = json.dumps(result).encode()
        key_id, secret = self.current_key
        for attempt in range(5):
            request = urllib.request.Request(  # noqa: S310 (the portal's URL, from a signed job)
                job["callback_url"],
                data=body,
                method="POST",
                headers={"Content-Type": "application/json", **sign(body, key_id, secret)},
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
                    status = answer.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError:
                status = 0
            if status == 200:
                with self.connect() as conn:
                    conn.execute(
                        "UPDATE product.connector_jobs SET callback_delivered_at = now() "
                        "WHERE job_id = %s",
                        (job["job_id"],),
                    )
                logger.info("job %s: result delivered", job["job_id"])
                return
            logger.warning("job %s: callback answered %s", job["job_id"], status)
            if status in (400, 401, 404, 409):
                return  # the portal will not take it however often it is sent
            time.sleep(2**attempt)


class Handler(BaseHTTPRequestHandler):
    server: Server

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug(format, *args)

    def answer(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self.answer(200, {"status": "ok"})
        else:
            self.answer(404, {"detail": "not found"})

    def do_POST(self) -> None:
        service = self.server.service
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.answer(413, {"detail": "too large"})
            return
        body = self.rfile.read(length)
        problem = verify(body, self.headers, service.keys, service.window)
        if problem:
            self.answer(401, {"detail": problem})
            return
        try:
            message = json.loads(body)
        except ValueError:
            self.answer(400, {"detail": "not JSON"})
            return
        if message.get("type") == "ping":
            self.answer(200, {"status": "ok"})
            return
        if service.take("fail_remaining"):
            self.answer(500, {"detail": "injected failure"})
            return
        if service.seen_before(self.headers["X-Portal-Signature"]):
            self.answer(409, {"detail": "this signed message was already received"})
            return
        try:
            uuid.UUID(str(message.get("job_id")))
        except ValueError:
            self.answer(400, {"detail": "job_id must be a UUID"})
            return
        if message.get("type") not in JOB_TYPES or not message.get("request_id"):
            self.answer(400, {"detail": "unknown job type or no request_id"})
            return
        status, payload = service.handle_job(message)
        self.answer(status, payload)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], service: Service) -> None:
        super().__init__(address, Handler)
        self.service = service


def parse_keys(text: str) -> dict[str, str]:
    """ "id=secret,id=secret", current first."""
    keys: dict[str, str] = {}
    for entry in filter(None, (part.strip() for part in text.split(","))):
        key_id, sep, secret = entry.partition("=")
        if not sep or not key_id or not secret:
            raise SystemExit("PRODUCT_SERVICE_KEYS is 'id=secret,id=secret' (current first)")
        keys[key_id] = secret
    if not keys:
        raise SystemExit("Set PRODUCT_SERVICE_KEYS='product.1=<secret>' (current key first)")
    return keys


def main() -> None:
    parser = argparse.ArgumentParser(description="The demo product's connector endpoint.")
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--mode", choices=["immediate", "callback"], default="immediate")
    parser.add_argument("--window", type=int, default=300, help="replay window, seconds")
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--slow-first", type=int, default=0)
    parser.add_argument("--slow-seconds", type=float, default=0.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    keys = parse_keys(os.environ.get("PRODUCT_SERVICE_KEYS", ""))
    server = Server((args.host, args.port), Service(args, keys))
    logger.info("listening on http://%s:%s/ (%s mode)", args.host, args.port, args.mode)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
