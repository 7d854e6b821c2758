"""What counts as a web origin: ``scheme://host[:port]``, nothing more.

`allowed_origins` on a connect token ends up in the Connect page's Content-Security-Policy
(``frame-ancestors``), so the Connect client (before sending) and the local server (on
receipt, and again when rendering) accept only plain origins: ``http`` or ``https``, a DNS
host name, IPv4 or bracketed IPv6 address, an optional port 1-65535 - and no path, query,
fragment, userinfo, trailing slash, wildcard or CSP keyword (``*``, ``https:``, ``'self'``),
any of which would widen who may frame the page or break out of the header.
"""

from __future__ import annotations

import ipaddress
import re

_ORIGIN = re.compile(
    r"(?P<scheme>https?)://(?P<host>[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::(?P<port>[0-9]{1,5}))?",
    re.IGNORECASE,
)
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", re.IGNORECASE)

#: What to tell a caller whose value is not an origin.
ORIGIN_FORM = (
    "an origin is scheme://host[:port] - http or https, no path, query or trailing slash "
    "(e.g. https://app.example.com)"
)


def is_origin(value: object) -> bool:
    """True for a plain web origin such as ``https://app.example.com:8443``."""
    if not isinstance(value, str):
        return False
    match = _ORIGIN.fullmatch(value)
    if match is None:
        return False
    host = match["host"]
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return False
    elif len(host) > 253 or not all(_LABEL.fullmatch(label) for label in host.split(".")):
        return False
    port = match["port"]
    return port is None or 0 < int(port) <= 65_535
