"""Cursor paging: `after` / `before` / `limit` and a `page_info` that tells the truth."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from connect_mcp.local.embedded import LocalCredentials
from tests.support import api_headers, http, seed_account


@pytest.fixture(scope="module")
def ten_accounts(
    tmp_path_factory: pytest.TempPathFactory,
) -> Any:
    from connect_mcp.local.embedded import EmbeddedServer

    server = EmbeddedServer(tmp_path_factory.mktemp("paging"))
    with server as creds:
        ids = [
            seed_account(creds, f"pager-{i % 3}", "stripe", {"api_key": f"sk_{i}"})["id"]
            for i in range(10)
        ]
        yield creds, ids


def _page(creds: LocalCredentials, path: str, **params: Any) -> dict[str, Any]:
    response = http().get(
        f"{creds.base_url}/v1/connect/{creds.project_id}{path}",
        params=params,
        headers=api_headers(creds),
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_forward_and_backward(ten_accounts: tuple[LocalCredentials, list[str]]) -> None:
    creds, ids = ten_accounts
    first = _page(creds, "/accounts", limit=4)
    assert [a["id"] for a in first["data"]] == ids[:4]
    info = first["page_info"]
    assert info["count"] == 4
    assert info["total_count"] == 10
    assert info["start_cursor"] is None
    assert info["end_cursor"]

    second = _page(creds, "/accounts", limit=4, after=info["end_cursor"])
    assert [a["id"] for a in second["data"]] == ids[4:8]
    assert second["page_info"]["start_cursor"]
    assert second["page_info"]["end_cursor"]

    last = _page(creds, "/accounts", limit=4, after=second["page_info"]["end_cursor"])
    assert [a["id"] for a in last["data"]] == ids[8:]
    assert last["page_info"]["end_cursor"] is None
    assert last["page_info"]["count"] == 2

    back = _page(creds, "/accounts", limit=4, before=last["page_info"]["start_cursor"])
    assert [a["id"] for a in back["data"]] == ids[4:8]
    back2 = _page(creds, "/accounts", limit=4, before=back["page_info"]["start_cursor"])
    assert [a["id"] for a in back2["data"]] == ids[:4]
    assert back2["page_info"]["start_cursor"] is None

    between = _page(
        creds,
        "/accounts",
        after=first["page_info"]["end_cursor"],
        before=last["page_info"]["start_cursor"],
    )
    assert [a["id"] for a in between["data"]] == ids[4:8]


def test_filters_page_too(ten_accounts: tuple[LocalCredentials, list[str]]) -> None:
    creds, ids = ten_accounts
    mine = [i for n, i in enumerate(ids) if n % 3 == 1]
    page = _page(creds, "/accounts", external_user_id="pager-1", limit=2)
    assert page["page_info"]["total_count"] == len(mine)
    got = [a["id"] for a in page["data"]]
    while page["page_info"]["end_cursor"]:
        page = _page(
            creds,
            "/accounts",
            external_user_id="pager-1",
            limit=2,
            after=page["page_info"]["end_cursor"],
        )
        got += [a["id"] for a in page["data"]]
    assert got == mine
    assert _page(creds, "/accounts", app="slack")["data"] == []
    by_id = _page(creds, "/accounts", app=page["data"][0]["app"]["id"])
    assert by_id["page_info"]["total_count"] == 10


def test_deleted_cursor_row_still_pages(
    make_local_server: Callable[..., LocalCredentials],
) -> None:
    creds = make_local_server()
    ids = [seed_account(creds, "dora", "stripe", {"api_key": f"k{i}"})["id"] for i in range(4)]
    first = _page(creds, "/accounts", limit=2)
    http().delete(
        f"{creds.base_url}/v1/connect/{creds.project_id}/accounts/{ids[1]}",
        headers=api_headers(creds),
    )
    rest = _page(creds, "/accounts", limit=2, after=first["page_info"]["end_cursor"])
    assert [a["id"] for a in rest["data"]] == ids[2:]


def test_users_and_apps_page(ten_accounts: tuple[LocalCredentials, list[str]]) -> None:
    creds, _ = ten_accounts
    users = _page(creds, "/users", limit=2)
    assert [u["external_id"] for u in users["data"]] == ["pager-0", "pager-1"]
    assert users["page_info"]["total_count"] == 3
    rest = _page(creds, "/users", limit=2, after=users["page_info"]["end_cursor"])
    assert [u["external_id"] for u in rest["data"]] == ["pager-2"]
    assert rest["page_info"]["end_cursor"] is None
    assert [u["external_id"] for u in _page(creds, "/users", q="R-1")["data"]] == ["pager-1"]
    assert _page(creds, "/users", q="%")["data"] == []

    seen: list[str] = []
    apps_url = f"{creds.base_url}/v1/connect/apps"
    params: dict[str, Any] = {"limit": 5}
    while True:
        body = http().get(apps_url, params=params, headers=api_headers(creds)).json()
        seen += [a["name_slug"] for a in body["data"]]
        if not body["page_info"]["end_cursor"]:
            break
        params["after"] = body["page_info"]["end_cursor"]
    assert len(seen) == len(set(seen)) == body["page_info"]["total_count"] >= 12
