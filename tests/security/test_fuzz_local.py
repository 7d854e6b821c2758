"""Bad input to the local Connect server: schemathesis drives every operation of the OpenAPI
document the server serves for itself (`/openapi.json`), with data that fits the schema and
data that does not, with a valid token, none or a forged one. Never a 500, every answer JSON
with a status the document lists, and no request that was refused changed a row."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import given
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.result import Ok

from connect_mcp.local.embedded import LocalCredentials
from tests.security.helpers import fuzz_settings
from tests.support import access_token, http, seed_account

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "30"))  # per operation and mode
TABLES = ("projects", "oauth_clients", "access_tokens", "connect_tokens", "users", "accounts",
          "meta")  # fmt: skip


def snapshot(db: Path) -> str:
    """A digest of every row of every table, read through a separate read-only connection."""
    digest = hashlib.sha256()
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        for table in TABLES:
            for row in connection.execute(f"SELECT * FROM {table} ORDER BY 1"):
                digest.update(repr(row).encode())
    finally:
        connection.close()
    return digest.hexdigest()


def test_fuzz_the_local_server_against_its_own_openapi_document(
    make_local_server: Callable[..., LocalCredentials], tmp_path: Path
) -> None:
    data_dir = tmp_path / "fuzz"
    creds = make_local_server(
        data_dir=data_dir, account_rate_per_window=10**7, token_rate_per_minute=10**7
    )
    db = data_dir / "connect.db"
    users = ["fuzz-user-a", "fuzz-user-b"]
    for user in users:
        seed_account(creds, user, "openai", {"api_key": "sk-fuzz-0123456789abcdef"})
    token = access_token(creds)
    document = http().get(f"{creds.base_url}/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document)
    statuses: Counter[int] = Counter()
    operations = 0
    started = time.monotonic()
    auths = {
        "valid": {"Authorization": f"Bearer {token}"},
        "none": {},
        "forged": {"Authorization": "Bearer pdat_forged0123456789abcdefghijklmnop"},
    }
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # the document parses: no invalid operation
        operation = result.ok()
        operations += 1
        declared = {int(code) for code in operation.definition.raw["responses"]}
        overrides: dict[str, Any] = {}
        if "project_id" in operation.path:
            overrides["path_parameters"] = {"project_id": creds.project_id}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode, **overrides)
            positive = mode is GenerationMode.POSITIVE

            @fuzz_settings(EXAMPLES)
            @given(
                case=strategy, auth=st.sampled_from(["valid", "valid", "valid", "none", "forged"])
            )
            def run(case: Any, auth: str) -> None:
                before = snapshot(db)
                response = case.call(base_url=creds.base_url, headers=auths[auth], timeout=10)
                status = response.status_code
                statuses[status] += 1
                what = f"{case.method} {case.formatted_path} -> {status}: {response.text[:200]}"
                assert status < 500, what
                if status >= 400:
                    types = {k.lower(): v for k, v in response.headers.items()}.get("content-type")
                    assert types, what
                    assert types[0].startswith("application/json"), what
                    assert "error" in response.json(), what
                    assert snapshot(db) == before, f"a refused request changed a row: {what}"
                if positive and auth == "valid" and status != 429:  # noqa: B023 - run at once
                    assert status in declared, what  # noqa: B023 - run at once

            run()
            del run  # each (operation, mode) pair gets its own closure
    total = sum(statuses.values())
    print(
        f"\n[fuzz/local] schemathesis: {operations} operations x (positive, negative) x "
        f"{EXAMPLES} examples = {total} requests in {time.monotonic() - started:.1f}s; "
        f"statuses {dict(sorted(statuses.items()))}; 0 server errors, 0 rows changed by a "
        "refused request"
    )


def test_the_document_covers_every_api_route(local_server: LocalCredentials) -> None:
    from starlette.routing import Route

    from connect_mcp.local.routes import api_routes

    document = http().get(f"{local_server.base_url}/openapi.json").json()
    described = {
        (path, method.upper()) for path, item in document["paths"].items() for method in item
    }
    served = {
        (route.path, method)
        for route in api_routes()
        if isinstance(route, Route) and not route.path.startswith(("/_static", "/openapi"))
        for method in (route.methods or set()) - {"HEAD"}
    }
    assert served == described
    assert document["openapi"].startswith("3.")
    assert local_server.project_id not in str(document)
    print(f"\n[fuzz/openapi] {len(served)} served (path, method) pairs, all described")
