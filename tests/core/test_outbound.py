"""The outbound address policy: an address staff configure (an HTTP connector's URL, a database
DSN, a sign-in provider's discovery URL) is called only if it is HTTPS (in production) and every
address it resolves to is public, unless the host is allow-listed; it is checked again on
connect (DNS rebinding fails), redirects are not followed, and refusals name the rule."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator

import pytest
import requests

from core import outbound


@pytest.mark.parametrize(
    ("address", "rule"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private network"),
        ("192.168.0.10", "private network"),
        ("172.20.0.5", "private network"),
        ("100.64.0.1", "private network"),  # shared (carrier-grade NAT)
        ("169.254.169.254", "metadata"),  # the cloud metadata service
        ("fe80::1", "link-local"),
        ("100.100.100.200", "metadata"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4 in IPv6 clothing
        ("0.0.0.0", "not one a service can have"),
        ("224.0.0.1", "not one a service can have"),
    ],
)
def test_non_public_addresses_are_refused_naming_the_rule(production_policy, address, rule):
    assert rule in (outbound.address_problem(address) or "")


def test_public_addresses_pass(production_policy):
    assert outbound.address_problem("93.184.216.34") is None
    assert outbound.address_problem("2606:2800:220:1:248:1893:25c8:1946") is None


def test_development_lets_loopback_and_private_through_but_never_metadata(settings):
    settings.OUTBOUND_PRIVATE_ADDRESSES = True
    settings.OUTBOUND_ALLOWED_HOSTS = []
    assert outbound.address_problem("127.0.0.1") is None
    assert outbound.address_problem("10.0.0.8") is None
    assert outbound.address_problem("169.254.169.254") is not None


def test_an_allow_listed_network_or_host_is_let_through(production_policy, monkeypatch):
    production_policy.OUTBOUND_ALLOWED_HOSTS = ["10.20.0.0/16", "crm.internal"]
    assert outbound.address_problem("10.20.3.4") is None
    assert outbound.address_problem("10.21.3.4") is not None
    resolves_to(monkeypatch, {"crm.internal": ["10.99.0.1"]})
    assert outbound.resolve("crm.internal", 443) == ["10.99.0.1"]


def test_only_https_in_production_and_no_credentials_in_the_address(production_policy):
    with pytest.raises(outbound.AddressRefused, match="only https://"):
        outbound.check_url("http://93.184.216.34/")
    with pytest.raises(outbound.AddressRefused, match="user name or password"):
        outbound.check_url("https://user:pw@93.184.216.34/")
    with pytest.raises(outbound.AddressRefused, match="only https://"):
        outbound.check_url("file:///etc/passwd")


def resolves_to(monkeypatch, table: dict[str, list[str]]) -> list[str]:
    """Make getaddrinfo answer from `table` (each call pops the next answer if a list of
    lists); returns the log of names looked up."""
    looked_up: list[str] = []
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        looked_up.append(host)
        answer = table.get(host)
        if answer is None:
            return real(host, port, *args, **kwargs)
        address = answer.pop(0) if len(answer) > 1 else answer[0]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return looked_up


def test_a_name_resolving_to_a_private_address_is_refused(production_policy, monkeypatch):
    resolves_to(monkeypatch, {"intranet.example.com": ["10.0.0.5"]})
    with pytest.raises(outbound.AddressRefused, match="private network"):
        outbound.check_url("https://intranet.example.com/")


class _Answer(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:
        _Answer.hits.append(self.path)
        if self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
        else:
            self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def local_server() -> Iterator[int]:
    _Answer.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_dns_rebinding_fails_on_connect(settings, monkeypatch, local_server):
    # The name is public when checked, and this machine when connected to.
    settings.OUTBOUND_HTTPS_ONLY = False
    settings.OUTBOUND_PRIVATE_ADDRESSES = False
    settings.OUTBOUND_ALLOWED_HOSTS = []
    resolves_to(monkeypatch, {"rebind.example.com": ["93.184.216.34", "127.0.0.1"]})
    with pytest.raises(requests.ConnectionError) as raised:
        outbound.GuardedSession(timeout=2).get(f"http://rebind.example.com:{local_server}/")
    assert "loopback" in (outbound.refusal_in(raised.value) or "")
    assert _Answer.hits == []  # the local server was never reached


def test_the_checked_address_is_the_one_connected_to(settings, monkeypatch, local_server):
    settings.OUTBOUND_HTTPS_ONLY = False
    settings.OUTBOUND_PRIVATE_ADDRESSES = True
    looked_up = resolves_to(monkeypatch, {"product.test": ["127.0.0.1"]})
    response = outbound.GuardedSession(timeout=2).get(f"http://product.test:{local_server}/")
    assert response.status_code == 200
    assert looked_up.count("product.test") == 2  # before the request, and on connect


def test_redirects_are_not_followed(settings, local_server):
    settings.OUTBOUND_HTTPS_ONLY = False
    settings.OUTBOUND_PRIVATE_ADDRESSES = True
    response = outbound.GuardedSession(timeout=2).get(f"http://127.0.0.1:{local_server}/moved")
    assert response.status_code == 302
    assert _Answer.hits == ["/moved"]


def test_proxies_from_the_environment_are_ignored(settings, monkeypatch, local_server):
    settings.OUTBOUND_HTTPS_ONLY = False
    settings.OUTBOUND_PRIVATE_ADDRESSES = True
    monkeypatch.setenv("HTTP_PROXY", "http://10.9.9.9:3128")
    response = outbound.GuardedSession(timeout=2).get(f"http://127.0.0.1:{local_server}/")
    assert response.status_code == 200


def test_third_party_sign_in_calls_go_through_the_policy():
    from accounts.adapters import SocialAccountAdapter

    assert isinstance(SocialAccountAdapter().get_requests_session(), outbound.GuardedSession)


def test_a_sign_in_providers_discovery_at_a_private_address_is_refused_as_a_failed_request(
    production_policy,
):
    # allauth treats a requests error as a failed third-party sign-in, never a server error.
    from accounts.adapters import SocialAccountAdapter

    session = SocialAccountAdapter().get_requests_session()
    with session, pytest.raises(requests.RequestException, match="private network"):
        session.get("https://10.0.0.8/.well-known/openid-configuration")
