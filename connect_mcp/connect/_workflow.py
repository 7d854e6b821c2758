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

**Which endpoints get the project's token.** The workflow domain is shared: anyone can
create an endpoint on ``m.pipedream.net``. So being on the domain is not enough for
``auth="oauth"`` (which sends our Pipedream access token): the endpoint must also be one the
operator listed (``oauth_endpoints``, from ``CONNECT_MCP_WORKFLOW_OAUTH_ENDPOINTS``) - an
endpoint id (``en123abc``: ``{id}.{domain}``, or ``/{id}`` on a loopback domain) or a host
(``host`` or ``host:port``, e.g. an allowlisted custom domain). No wildcards. An empty list
(the default) sends the token nowhere; ``static_bearer`` and ``none`` are unaffected.

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import httpx2

from connect_mcp.connect import _validate as check
from connect_mcp.connect.errors import (
    ConnectTimeoutError,
    InvalidArgumentError,
    UpstreamError,
    WorkflowAuthRefusedError,
    WorkflowURLRefusedError,
)
from connect_mcp.connect.models import WorkflowResponse
from connect_mcp.redact import REDACTED, Redactor, is_secret_name

WORKFLOW_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
#: Headers a caller may not set on a workflow request: we set them ourselves, or they would
#: let a caller smuggle a credential, another user or host, or break the framing. Compared
#: in canonical form (`canonical_header`): lower case, `_` as `-`.
RESERVED_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "upgrade",
        "expect",
        "x-pd-external-user-id",
        "x-pd-environment",
    }
)

_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_HOSTNAME = re.compile(
    r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_UNSAFE = re.compile(r"[^\x21-\x7e]|\\")  # anything but visible ASCII, and backslash


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def is_loopback_host(host: str) -> bool:
    host = host.lower().strip("[]")
    if host == "localhost":  # not *.localhost: glibc sends those names to DNS
        return True
    ip = _ip(host)
    return ip is not None and ip.is_loopback


@dataclass(frozen=True)
class _HostRule:
    host: str  # lower-case hostname or IP (IPv6 without brackets)
    port: int | None  # None: the scheme's default port only
    subdomains: bool  # also any subdomain of `host`
    exact: bool  # the host itself is allowed

    def matches(self, host: str, port: int | None, scheme: str) -> bool:
        default = _DEFAULT_PORTS.get(scheme)
        if (port or default) != (self.port or default):  # "example:443" is "example" on https
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
    """Resolves an endpoint id or URL to the one URL a workflow request may go to, and says
    whether the project's access token may go there (`check_oauth`)."""

    def __init__(
        self,
        workflow_domain: str,
        allowlist: Sequence[str] = (),
        oauth_endpoints: Sequence[str] = (),
    ) -> None:
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
        if isinstance(oauth_endpoints, str):
            raise InvalidArgumentError("workflow OAuth endpoints must be a list, not a string")
        ids: set[str] = set()
        hosts: set[tuple[str, int | None]] = set()
        for entry in oauth_endpoints:
            parsed = self._oauth_entry(entry)
            if isinstance(parsed, str):
                ids.add(parsed)
            else:
                hosts.add(parsed)
        self._oauth_ids = frozenset(ids)
        self._oauth_hosts = frozenset(hosts)

    def __repr__(self) -> str:
        return (
            f"WorkflowURLPolicy(domain={self.domain!r}, allowlist={len(self._allow)}, "
            f"oauth_endpoints={len(self._oauth_ids) + len(self._oauth_hosts)})"
        )

    @staticmethod
    def _oauth_entry(entry: str) -> str | tuple[str, int | None]:
        """An endpoint id (lower-case label), or a (host, port) pair."""
        if not isinstance(entry, str):
            raise InvalidArgumentError("workflow OAuth endpoints must be strings")
        text = entry.strip().lower()
        for scheme in ("https://", "http://"):
            if text.startswith(scheme):
                text = text[len(scheme) :].rstrip("/")
        if not text or _UNSAFE.search(text):
            raise InvalidArgumentError(f"invalid workflow OAuth endpoint {entry!r}")
        if "*" in text:
            raise InvalidArgumentError(
                f"workflow OAuth endpoint {entry!r}: wildcards are not accepted - list each "
                "endpoint id or host that may receive the project's access token"
            )
        if "." not in text and ":" not in text:
            if not _LABEL.match(text):
                raise InvalidArgumentError(
                    f"workflow OAuth endpoint {entry!r} is not an endpoint id or a host"
                )
            return text
        host, port = _split_host_port(text, "workflow OAuth endpoint")
        return host.strip("[]"), port

    def check_oauth(self, url: httpx2.URL) -> None:
        """Refuse (`WorkflowAuthRefusedError`) to send the project's access token to `url`
        (a URL `resolve` returned) unless the operator listed its endpoint."""
        host = url.raw_host.decode("ascii").lower().strip("[]")
        port = url.port
        default = _DEFAULT_PORTS.get(url.scheme)
        for listed_host, listed_port in self._oauth_hosts:
            if host == listed_host and (port or default) == (listed_port or default):
                return
        rule = self._domain_rule
        if self.loopback:
            if rule.matches(host, port, url.scheme):
                endpoint = url.path.strip("/").lower()
                if endpoint in self._oauth_ids:
                    return
            shown = f"{url.netloc.decode('ascii')}{url.path}"
        else:
            # Exactly `{id}.{domain}`: not a deeper name that merely ends with the domain.
            label, _, parent = host.partition(".")
            same_port = (port or default) == (rule.port or default)
            if label in self._oauth_ids and parent == rule.host and same_port:
                return
            shown = host
        raise WorkflowAuthRefusedError(
            f"auth='oauth' sends this project's Pipedream access token, and the operator has "
            f"not listed the endpoint {shown!r} for it (CONNECT_MCP_WORKFLOW_OAUTH_ENDPOINTS); "
            "nothing was sent. Add its endpoint id (or host) to that setting, or invoke it "
            "with auth='static_bearer' or auth='none'"
        )

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
            # The host as it goes on the wire: `url.host` would IDNA-decode "xn--" labels
            # (and can raise doing so); the input is ASCII, so the raw host is the truth.
            host = url.raw_host.decode("ascii").lower()
        except (httpx2.InvalidURL, ValueError) as exc:  # UnicodeError is a ValueError
            raise WorkflowURLRefusedError("workflow URL does not parse") from exc
        if url.userinfo or "@" in endpoint.split("://", 1)[1].split("/", 1)[0]:
            raise WorkflowURLRefusedError("workflow URL may not carry userinfo")
        if not host or host.endswith("."):
            raise WorkflowURLRefusedError("workflow URL needs a plain host name")
        if _ip(host) is None and (len(host) > 253 or not _HOSTNAME.match(host)):
            # DNS names only (letters, digits, inner hyphens; labels of 1-63): anything else
            # (`_`, `%`, `*`, `!`, empty labels) is read differently by resolvers and proxies.
            raise WorkflowURLRefusedError("workflow URL host is not a valid host name")
        port = url.port  # None when absent or the scheme's default
        on_domain = self._domain_rule.matches(host, port, url.scheme)
        if url.scheme == "http":
            if not (self.loopback and on_domain):
                raise WorkflowURLRefusedError(
                    "workflow URL must use https (http only for a loopback workflow domain)"
                )
        elif url.scheme != "https":
            raise WorkflowURLRefusedError("workflow URL must use https")
        if _ip(host) is not None and not (self.loopback and on_domain):
            raise WorkflowURLRefusedError("workflow URL may not be an IP address")
        if not on_domain and not any(rule.matches(host, port, url.scheme) for rule in self._allow):
            raise WorkflowURLRefusedError(
                f"workflow URL host is not on the workflow domain {self.domain!r} "
                "or the operator's allowlist"
            )
        return url.copy_with(fragment=None)


def canonical_header(name: str) -> str:
    """A header name as servers may read it: case-insensitive, and with `_` taken as `-`
    (CGI/WSGI environs, PHP, some proxies and frameworks fold `x_pd_environment` into
    `X-PD-Environment`), so `X_PD_External_User_ID` is the reserved header, not another."""
    return name.strip().lower().replace("_", "-")


def caller_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    """The caller's extra headers, lower-cased and checked: none of the reserved ones in any
    spelling, and no two that a server could read as the same header."""
    out: dict[str, str] = {}
    seen: set[str] = set()
    for name, value in (headers or {}).items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise InvalidArgumentError("workflow headers must map strings to strings")
        key = name.strip().lower()
        if not key or any(not (ch.isascii() and (ch.isalnum() or ch in "-_")) for ch in key):
            raise InvalidArgumentError(f"invalid header name {name!r}")
        canonical = canonical_header(key)
        if canonical in RESERVED_HEADERS:
            raise InvalidArgumentError(f"header {name!r} is set by the client and may not be given")
        if canonical in seen:
            raise InvalidArgumentError(f"header {name!r} is given twice (case or '_' aside)")
        seen.add(canonical)
        out[key] = check.header_value(f"header {name!r}", value)
    return out


def safe_headers(headers: httpx2.Headers, redactor: Redactor) -> dict[str, str]:
    """Response headers for the caller: secret-named ones masked, every value scrubbed."""
    out: dict[str, str] = {}
    for name in headers:
        key = name.lower()
        if key not in out:
            value = ", ".join(headers.get_list(key))
            out[key] = REDACTED if is_secret_name(key) else redactor.scrub(value)
    return out


async def send(
    http: httpx2.AsyncClient,
    request: httpx2.Request,
    *,
    shown: str,
    limit: int,
    redactor: Redactor,
) -> WorkflowResponse:
    """Send a workflow request once and read at most `limit` bytes of its answer.

    Failures that prove nothing was sent (`_retry.NEVER_SENT`) propagate unchanged so the
    caller may try again; every later failure becomes a typed error saying the workflow
    may have run, and is never retried.
    """
    method = request.method
    try:
        response = await http.send(request, stream=True, follow_redirects=False)
    except (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout):
        raise
    except httpx2.TimeoutException as exc:
        raise ConnectTimeoutError(
            "the workflow did not answer in time; it may have run, so it is not re-sent",
            method=method,
            path=shown,
        ) from exc
    except httpx2.HTTPError as exc:
        raise UpstreamError(
            f"the workflow request failed ({type(exc).__name__}); it may have run, so it is "
            "not re-sent",
            method=method,
            path=shown,
        ) from exc
    chunks: list[bytes] = []
    size = 0
    truncated = False
    budget = limit + _SCRUB_MARGIN  # see below: cut only after scrubbing
    try:
        async for chunk in response.aiter_bytes():
            if size + len(chunk) > budget:
                chunks.append(chunk[: budget - size])
                truncated = True
                break
            chunks.append(chunk)
            size += len(chunk)
    except httpx2.TimeoutException as exc:
        raise ConnectTimeoutError(
            "the workflow's answer stalled mid-body (the workflow ran)", method=method, path=shown
        ) from exc
    except httpx2.HTTPError as exc:
        raise UpstreamError(
            f"the connection broke while reading the workflow's answer ({type(exc).__name__}); "
            "the workflow ran",
            status=response.status_code,
            method=method,
            path=shown,
        ) from exc
    finally:
        await response.aclose()
    text = b"".join(chunks).decode(response.charset_encoding or "utf-8", errors="replace")
    body = redactor.scrub(text)
    if truncated:
        # A secret cut in half by the read no longer matches the redactor, so the tail that
        # may hold such a fragment (the last `_SCRUB_MARGIN` characters, which scrubbing left
        # as they were) is dropped before the body is cut to its limit.
        body = body[: max(0, min(limit, len(body) - _SCRUB_MARGIN))]
    elif len(body) > limit:
        body, truncated = body[:limit], True
    return WorkflowResponse(
        status_code=response.status_code,
        headers=safe_headers(response.headers, redactor),
        body=body,
        truncated=truncated,
    )


#: Longer than any secret variant the redactor is expected to match (credentials, tokens).
_SCRUB_MARGIN = 16_384
