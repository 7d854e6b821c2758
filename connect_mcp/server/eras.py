"""The two protocol eras a gate must speak, and the wire key of its question.

Shared by the form gate (`gate`) and the out-of-band gate (`url_gate`), which must agree on both.
"""

from __future__ import annotations

from mcp_types.version import is_version_at_least

#: From this revision on there are no server-to-client requests: a question to the human rides
#: inside an input-required result and the client retries the call with the answer.
INPUT_REQUIRED_VERSION = "2026-07-28"

#: The key of the confirmation question in a 2026-07-28 input-required result.
CONFIRM_KEY = "delete:confirm"


def uses_input_required(protocol_version: str | None) -> bool:
    return protocol_version is not None and is_version_at_least(
        protocol_version, INPUT_REQUIRED_VERSION
    )
