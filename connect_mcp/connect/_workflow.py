"""Where a workflow invocation may go.

An invocation carries our Pipedream access token (auth ``oauth``) or a caller's bearer, and
the endpoint often comes from a language model - so the URL is checked before anything is
sent, and what is checked is exactly what is sent (the `httpx2.URL` parsed here is the one
the request uses; no second parser can disagree).

Accepted endpoints:

* an **endpoint id** (a DNS label such as ``en1a2b3c``) - it becomes
  ``https://{id}.{workflow_domain}/``;
* a **full URL** whose host is the workflow domain or a subdomain of it, or matches an
  operator allowlist entry (``host``, ``host:port``, ``*.host`` for its subdomains, or an
  ``https://`` origin); ``https`` only, on the default port unless the domain or entry
  names one.

Refused, before any byte leaves: userinfo (``https://x@host``), IP literals, look-alikes
(``m.pipedream.net.evil.com``, ``evilm.pipedream.net``), non-ASCII, whitespace or
backslashes anywhere (parsers disagree on them), a trailing-dot host, other schemes.

**Loopback exception.** The local Connect server hosts workflows over plain ``http`` on
127.0.0.1. When - and only when - the configured workflow domain is itself a loopback host
(``localhost``, ``127.0.0.0/8``, ``::1``, optionally with a port), ``http`` is accepted for
URLs on exactly that host and port, and an endpoint id becomes
``http://{workflow_domain}/{id}``: subdomains of a loopback host do not resolve everywhere
(glibc does not resolve ``*.localhost``), so the id travels in the path instead. Nothing
sent to a loopback host leaves the machine.
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass

import httpx2

from connect_mcp.connect.errors import InvalidArgumentError, WorkflowURLRefusedError

_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_HOSTNAME = re.compile(
    r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
)
_UNSAFE = re.compile(r"[^\x21-\x7e]|\\")  # anything but visible ASCII, and backslash


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def is_loopback_host(host: str) -> bool:
    host = host.lower().strip("[]")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    ip = _ip(host)
    return ip is not None and ip.is_loopback


@dataclass(frozen=True)
class _HostRule:
    host: str  # lower-case hostname or IP (IPv6 without brackets)
    port: int | None  # None: the scheme's default port only
    subdomains: bool  # also any subdomain of `host`
    exact: bool  # the host itself is allowed

    def matches(self, host: str, port: int | None) -> bool:
        if port != self.port:
            return False
        if self.exact and host == self.host:
            return True
        return self.subdomains and _ip(self.host) is None and host.endswith("." + self.host)


def _split_host_port(text: str, what: str) -> tuple[str, int | None]:
    parts = urllib.parse.urlsplit("//" + text)
    try:
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise InvalidArgumentError(f"{what} {text!r} has an invalid port") from exc
    if not host or parts.path or parts.query or parts.fragment or parts.username is not None:
        raise InvalidArgumentError(f"{what} {text!r} is not a host[:port]")
    if _ip(host) is None and not _HOSTNAME.match(host):
        raise InvalidArgumentError(f"{what} {text!r} is not a valid host name")
    return host, port


class WorkflowURLPolicy:
    """Resolves an endpoint id or URL to the one URL a workflow request may go to."""

    def __init__(self, workflow_domain: str, allowlist: Sequence[str] = ()) -> None:
        domain = workflow_domain.strip().lower()
        if not domain or _UNSAFE.search(domain):
            raise InvalidArgumentError(f"invalid workflow domain {workflow_domain!r}")
        self.domain = domain
        host, port = _split_host_port(domain, "workflow domain")
        self.loopback = is_loopback_host(host)
        if _ip(host) is not None and not self.loopback:
            raise InvalidArgumentError("the workflow domain may not be an IP address")
        self._domain_rule = _HostRule(host, port, subdomains=not self.loopback, exact=True)
        self._allow = tuple(self._allow_rule(entry) for entry in allowlist)

    def __repr__(self) -> str:
        return f"WorkflowURLPolicy(domain={self.domain!r}, allowlist={len(self._allow)})"

    @staticmethod
    def _allow_rule(entry: str) -> _HostRule:
        text = entry.strip().lower()
        if text.startswith("https://"):
            text = text[len("https://") :].rstrip("/")
        elif "://" in text:
            raise InvalidArgumentError(f"workflow allowlist entry {entry!r}: only https")
        wildcard = text.startswith("*.")
        host, port = _split_host_port(text[2:] if wildcard else text, "allowlist entry")
        if _ip(host) is not None:
            raise InvalidArgumentError(f"workflow allowlist entry {entry!r} is an IP address")
        return _HostRule(host, port, subdomains=wildcard, exact=not wildcard)

    def resolve(self, endpoint: str) -> httpx2.URL:
        """The URL to call for `endpoint`, or `WorkflowURLRefusedError`."""
        if not isinstance(endpoint, str) or not endpoint:
            raise InvalidArgumentError("a workflow endpoint id or URL is required")
        if _UNSAFE.search(endpoint):
            raise WorkflowURLRefusedError(
                "workflow endpoint contains whitespace, non-ASCII characters or backslashes"
            )
        if "://" not in endpoint:
            label = endpoint.lower()
            if not _LABEL.match(label):
                raise WorkflowURLRefusedError(
                    "workflow endpoint must be an endpoint id (letters, digits, hyphens) "
                    "or a full https URL on the workflow domain"
                )
            if self.loopback:
                return httpx2.URL(f"http://{self.domain}/{label}")
            return httpx2.URL(f"https://{label}.{self.domain}/")
        return self._check_url(endpoint)

    def _check_url(self, endpoint: str) -> httpx2.URL:
        try:
            url = httpx2.URL(endpoint)
        except (httpx2.InvalidURL, ValueError) as exc:
            raise WorkflowURLRefusedError("workflow URL does not parse") from exc
        host = url.host.lower()
        if url.userinfo or "@" in endpoint.split("://", 1)[1].split("/", 1)[0]:
            raise WorkflowURLRefusedError("workflow URL may not carry userinfo")
        if not host or host.endswith("."):
            raise WorkflowURLRefusedError("workflow URL needs a plain host name")
        port = url.port  # None when absent or the scheme's default
        on_domain = self._domain_rule.matches(host, port)
        if url.scheme == "http":
            if not (self.loopback and on_domain):
                raise WorkflowURLRefusedError(
                    "workflow URL must use https (http only for a loopback workflow domain)"
                )
        elif url.scheme != "https":
            raise WorkflowURLRefusedError("workflow URL must use https")
        if _ip(host) is not None and not (self.loopback and on_domain):
            raise WorkflowURLRefusedError("workflow URL may not be an IP address")
        if not on_domain and not any(rule.matches(host, port) for rule in self._allow):
            raise WorkflowURLRefusedError(
                f"workflow URL host is not on the workflow domain {self.domain!r} "
                "or the operator's allowlist"
            )
        return url.copy_with(fragment=None)
