"""Start the test OpenID Connect identity provider (``run_idp.py``) as a real subprocess.

Use ``start_oidc_provider(tmp_path, redirect_uri)`` directly, or the ``oidc_provider`` fixture
(override ``oidc_redirect_uri`` to match the portal's allauth callback URL).
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

RUN_IDP = Path(__file__).resolve().parent / "run_idp.py"
DEFAULT_REDIRECT_URI = "http://testserver/accounts/oidc/idp/login/callback/"
DEFAULT_CLIENT_SECRET = "portal-client-secret"
DEFAULT_PASSWORD = "correct-horse-battery"
# Non-User claims served by the IdP (see idp_project/validators.py); "address" needs that scope.
DEFAULT_EXTRA_CLAIMS = {
    "gender": "female",
    "locale": "de-DE",
    "zoneinfo": "Europe/Berlin",
    "address": {"country": "DE"},
}


@dataclass
class OIDCProvider:
    issuer: str  # also allauth's ``server_url``
    client_id: str
    client_secret: str  # plaintext; the IdP stores it hashed
    username: str
    email: str
    password: str
    first_name: str
    last_name: str
    redirect_uris: list[str]
    extra_claims: dict
    port: int
    log_path: Path
    process: subprocess.Popen = field(repr=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_oidc_provider(
    tmp_path: Path,
    redirect_uri: str = DEFAULT_REDIRECT_URI,
    *,
    client_id: str = "privacy-portal",
    client_secret: str = DEFAULT_CLIENT_SECRET,
    username: str = "alice",
    email: str = "alice@example.org",
    password: str = DEFAULT_PASSWORD,
    first_name: str = "Alice",
    last_name: str = "Liddell",
    extra_claims: dict | None = None,
    timeout: float = 30.0,
) -> OIDCProvider:
    """Spawn the IdP and wait for its discovery document. ``redirect_uri`` may hold several
    space-separated URIs. Raises RuntimeError (with the IdP's output) if it does not come up."""
    tmp_path = Path(tmp_path)
    tmp_path.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    claims = {**DEFAULT_EXTRA_CLAIMS, **(extra_claims or {})}
    log_path = tmp_path / f"idp-{port}.log"
    cmd = [
        sys.executable, str(RUN_IDP), "--port", str(port),
        "--db", str(tmp_path / f"idp-{port}.sqlite3"),
        "--client-id", client_id, "--client-secret", client_secret,
        "--redirect-uris", redirect_uri,
        "--username", username, "--email", email, "--password", password,
        "--first-name", first_name, "--last-name", last_name,
    ]  # fmt: skip
    env = {**os.environ, "IDP_EXTRA_CLAIMS": json.dumps(claims)}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
        )
    provider = OIDCProvider(
        issuer=f"http://127.0.0.1:{port}/o",
        client_id=client_id,
        client_secret=client_secret,
        username=username,
        email=email,
        password=password,
        first_name=first_name,
        last_name=last_name,
        redirect_uris=redirect_uri.split(),
        extra_claims=claims,
        port=port,
        log_path=log_path,
        process=process,
    )
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"OIDC IdP exited with code {process.returncode}:\n{provider.log()}")
        try:
            # Our own http://127.0.0.1 URL, so S310's scheme concern does not apply.
            with urllib.request.urlopen(provider.discovery_url, timeout=2) as resp:  # noqa: S310
                if resp.status == 200:
                    return provider
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            provider.stop()
            raise RuntimeError(
                f"OIDC IdP did not answer {provider.discovery_url} within {timeout:.0f}s:\n"
                f"{provider.log()}"
            )
        time.sleep(0.1)


@pytest.fixture
def oidc_redirect_uri() -> str:
    """Override in a test module/conftest to match the portal's provider_id."""
    return DEFAULT_REDIRECT_URI


@pytest.fixture
def oidc_provider(tmp_path, oidc_redirect_uri):
    provider = start_oidc_provider(tmp_path, oidc_redirect_uri)
    try:
        yield provider
    finally:
        provider.stop()
