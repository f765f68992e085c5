"""The outbound address policy: where the portal may connect when staff give it an address.

Staff configure addresses the portal then calls: an HTTP connector's URL, a database
connector's DSN, the discovery URL of a third-party sign-in. Unchecked, such an address can
point inside the portal's own network (its database, a cache, the cloud's metadata service),
and what the portal says about the answer becomes a port scanner. So every such call goes
through this policy:

- HTTPS only (`OUTBOUND_HTTPS_ONLY`, on in production);
- the host's every address, after DNS resolution, must be public: loopback, private networks,
  link-local (the cloud metadata services among them), shared, reserved and multicast
  addresses are refused, unless the host (or a network holding the address) is named in
  `OUTBOUND_ALLOWED_HOSTS`. `OUTBOUND_PRIVATE_ADDRESSES` (on in development, where the demo's
  systems run on 127.0.0.1) lets loopback and private networks through, never link-local;
- the check is made again on connect, against the address actually connected to, so a name
  that resolves elsewhere the second time (DNS rebinding) fails;
- no redirects, no proxies from the environment, short timeouts (the callers').

A refusal says which rule refused, never what the address answered.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Metadata services outside link-local (Alibaba Cloud; AWS's IPv6 one).
METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address("100.100.100.200"), ipaddress.ip_address("fd00:ec2::254")}
)


class AddressRefused(requests.exceptions.InvalidURL):
    """The outbound address policy refused an address; the message names the rule."""

    def __init__(self, rule: str) -> None:
        super().__init__(f"Refused by the outbound address policy: {rule}.")
        self.rule = rule


class HostUnresolved(requests.exceptions.ConnectionError):
    """The host name does not resolve (now): worth trying again later, unlike a refusal."""

    def __init__(self) -> None:
        super().__init__("The host name does not resolve.")


def _allowed_entries() -> tuple[set[str], list[ipaddress.IPv4Network | ipaddress.IPv6Network]]:
    hosts: set[str] = set()
    networks = []
    for entry in getattr(settings, "OUTBOUND_ALLOWED_HOSTS", []):
        entry = str(entry).strip().lower()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            hosts.add(entry.rstrip("."))
    return hosts, networks


def host_allowed(host: str) -> bool:
    """Whether staff exempted this host by name in OUTBOUND_ALLOWED_HOSTS."""
    hosts, _networks = _allowed_entries()
    return host.lower().rstrip(".") in hosts


def address_problem(address: str) -> str | None:
    """Which rule refuses an IP address (None: allowed)."""
    ip: IPAddress = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    _hosts, networks = _allowed_entries()
    if any(ip in network for network in networks):
        return None
    private_ok = getattr(settings, "OUTBOUND_PRIVATE_ADDRESSES", False)
    if ip.is_link_local or ip in METADATA_ADDRESSES:
        return "the address is link-local or a cloud metadata service"
    if ip.is_loopback:
        return None if private_ok else "the address is this machine (loopback)"
    if ip.is_unspecified or ip.is_multicast or ip.is_reserved:
        return "the address is not one a service can have"
    if ip.is_private or not ip.is_global:
        return None if private_ok else "the address is on a private network"
    return None


def resolve(host: str, port: int) -> list[str]:
    """The host's addresses, each allowed by the policy (AddressRefused otherwise;
    HostUnresolved when the name does not resolve)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise HostUnresolved from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if host_allowed(host):
        return addresses
    for address in addresses:
        problem = address_problem(address)
        if problem is not None:
            raise AddressRefused(problem)
    return addresses


def check_url(url: str) -> None:
    """An outbound URL's scheme and host, resolved (AddressRefused with the rule)."""
    parts = urlsplit(url)
    https_only = getattr(settings, "OUTBOUND_HTTPS_ONLY", True)
    allowed_schemes = {"https"} if https_only else {"https", "http"}
    if parts.scheme not in allowed_schemes:
        raise AddressRefused(
            "only https:// addresses are allowed"
            if https_only
            else "only http:// and https:// addresses are allowed"
        )
    if parts.username is not None or parts.password is not None:
        raise AddressRefused("an address may not carry a user name or password")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise AddressRefused("the port is not a number from 1 to 65535") from None
    if not parts.hostname:
        raise AddressRefused("the address names no host")
    resolve(parts.hostname, port)


# --- Checked again on connect -------------------------------------------------------------------


class _RefusedOnConnect(NewConnectionError):
    """The name resolved to a refused address when connecting (DNS rebinding)."""


class _GuardedConnectionMixin:
    host: str
    port: int
    _dns_host: str

    def _new_conn(self) -> socket.socket:
        try:
            addresses = resolve(self._dns_host, self.port)
        except HostUnresolved:
            return super()._new_conn()  # type: ignore[misc]  # urllib3 names the failure
        except AddressRefused as refused:
            raise _RefusedOnConnect(self, str(refused)) from None  # type: ignore[arg-type]
        # Connect to the address just checked, not to the name again; TLS still verifies
        # the certificate against the name (server_hostname is `host`, not `_dns_host`).
        named = self._dns_host
        self._dns_host = addresses[0]
        try:
            return super()._new_conn()  # type: ignore[misc]
        finally:
            self._dns_host = named


class _GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {  # type: ignore[attr-defined]
            "http": _GuardedHTTPPool,
            "https": _GuardedHTTPSPool,
        }


class GuardedSession(requests.Session):
    """A requests session under the policy: each URL checked before the request, each
    connection checked again, no redirects, no proxies or .netrc from the environment."""

    def __init__(self, *, timeout: float | tuple[float, float] | None = None) -> None:
        super().__init__()
        self.trust_env = False
        self._timeout = timeout
        adapter = _GuardedAdapter()
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        check_url(url)
        kwargs["allow_redirects"] = False
        if self._timeout is not None:
            kwargs.setdefault("timeout", self._timeout)
        return super().request(method, url, *args, **kwargs)


def refusal_in(exc: BaseException) -> str | None:
    """The policy's refusal inside a requests error (raised on connect), or None."""
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, AddressRefused | _RefusedOnConnect):
            return str(current)
        stack.extend([current.__cause__, current.__context__, getattr(current, "reason", None)])
        stack.extend(arg for arg in getattr(current, "args", ()) if isinstance(arg, BaseException))
    return None
