"""`GET /openapi.json`: an OpenAPI 3.0 description of the local Connect server's REST API.

It describes what the routes accept (paths, parameters, bodies, limits) and the shapes they
answer, so generic tools - an API explorer, a schema-driven fuzzer - can drive the server
without knowing it. The document is data, built once; it holds no project id or secret (the
project id is a path parameter), and the route needs no authentication, like the real API's
public specification.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from connect_mcp.local.catalog import APPS
from connect_mcp.local.http import MAX_EXTERNAL_USER_ID
from connect_mcp.local.paging import MAX_LIMIT
from connect_mcp.local.workflows import METHODS

_P = "/v1/connect/{project_id}"

_ERROR = {"$ref": "#/components/schemas/Error"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _responses(ok: int, schema: dict[str, Any] | None, *errors: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        str(ok): {"description": "success", **(_json(schema) if schema is not None else {})}
    }
    for status in errors:
        out[str(status)] = {"description": "error", **_json(_ERROR)}
    return out


def _query(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _path(name: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": schema or {"type": "string", "minLength": 1},
    }


_ENV = {
    "name": "x-pd-environment",
    "in": "header",
    "required": True,
    "schema": {"type": "string", "enum": ["development", "production"]},
}
_PROJECT = _path("project_id")
_USER = {"type": "string", "minLength": 1, "maxLength": MAX_EXTERNAL_USER_ID}
_BOOL = {"type": "string", "enum": ["true", "false"]}
_PAGING = [
    _query("after", {"type": "string"}, "cursor: the page after this one"),
    _query("before", {"type": "string"}, "cursor: the page before this one"),
    _query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}),
]
_APP_REF = {"type": "string", "enum": [*sorted(a.name_slug for a in APPS), APPS[0].id]}
_BEARER: list[dict[str, list[str]]] = [{"bearer": []}]


def _project_op(
    summary: str, responses: dict[str, Any], *params: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    return {
        "summary": summary,
        "security": _BEARER,
        "parameters": [_PROJECT, _ENV, *params],
        "responses": responses,
        **extra,
    }


def _schemas() -> dict[str, Any]:
    page_info = {
        "type": "object",
        "properties": {
            "count": {"type": "integer"},
            "total_count": {"type": "integer"},
            "start_cursor": {"type": "string", "nullable": True},
            "end_cursor": {"type": "string", "nullable": True},
        },
    }
    return {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {"error": {"type": "string"}},
        },
        "PageInfo": page_info,
        "App": {
            "type": "object",
            "required": ["id", "name_slug", "name", "auth_type"],
            "properties": {
                "id": {"type": "string"},
                "name_slug": {"type": "string"},
                "name": {"type": "string"},
                "auth_type": {"type": "string"},
            },
        },
        "Account": {
            "type": "object",
            "required": ["id", "external_id", "app", "created_at", "updated_at"],
            "properties": {
                "id": {"type": "string"},
                "name": {"type": "string", "nullable": True},
                "external_id": {"type": "string"},
                "healthy": {"type": "boolean"},
                "dead": {"type": "boolean"},
                "app": {"type": "object"},
                "created_at": {"type": "string"},
                "updated_at": {"type": "string"},
                "credentials": {"type": "object"},
            },
        },
        "User": {
            "type": "object",
            "required": ["id", "external_id"],
            "properties": {"id": {"type": "string"}, "external_id": {"type": "string"}},
        },
    }


def _page_of(ref: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["data", "page_info"],
        "properties": {
            "data": {"type": "array", "items": {"$ref": f"#/components/schemas/{ref}"}},
            "page_info": {"$ref": "#/components/schemas/PageInfo"},
        },
    }


@cache
def document() -> dict[str, Any]:
    """The OpenAPI document (built once per process)."""
    account = {"$ref": "#/components/schemas/Account"}
    token_body = {
        "type": "object",
        "required": ["grant_type", "client_id", "client_secret"],
        "properties": {
            "grant_type": {"type": "string", "enum": ["client_credentials"]},
            "client_id": {"type": "string"},
            "client_secret": {"type": "string"},
            "scope": {"type": "string"},
        },
    }
    connect_token_body = {
        "type": "object",
        "required": ["external_user_id"],
        "properties": {
            "external_user_id": _USER,
            "success_redirect_uri": {"type": "string", "format": "uri"},
            "error_redirect_uri": {"type": "string", "format": "uri"},
            "webhook_uri": {"type": "string", "format": "uri"},
            "allowed_origins": {"type": "array", "items": {"type": "string"}},
            "expires_in": {"type": "integer", "minimum": 1, "maximum": 14_400},
        },
    }
    create_account_body = {
        "type": "object",
        "required": ["app_slug", "cfmap_json", "connect_token"],
        "properties": {
            "app_slug": _APP_REF,
            "cfmap_json": {"type": "string", "maxLength": 64_000},
            "connect_token": {"type": "string", "maxLength": 200},
            "name": {"type": "string", "maxLength": 200},
            "account_id": {"type": "string", "maxLength": 100},
        },
    }
    workflow = {
        "summary": "Invoke a built-in workflow (enecho, enaccount) for an external user",
        "security": _BEARER,
        "parameters": [
            _path("endpoint_id", {"type": "string", "enum": ["enecho", "enaccount"]}),
            {"name": "x-pd-external-user-id", "in": "header", "required": True, "schema": _USER},
            {
                "name": "x-pd-environment",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "enum": ["development", "production"]},
            },
        ],
        "responses": _responses(200, {"type": "object"}, 400, 401, 404, 413),
    }
    paths: dict[str, Any] = {
        "/v1/oauth/token": {
            "post": {
                "summary": "Exchange client credentials for an access token",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": token_body},
                        "application/x-www-form-urlencoded": {"schema": token_body},
                    },
                },
                "responses": _responses(200, {"type": "object"}, 400, 401),
            }
        },
        "/v1/connect/tokens/{ctok}/validate": {
            "get": {
                "summary": "Validate a connect token (no authentication)",
                "parameters": [_path("ctok"), _query("app_id", {"type": "string"})],
                "responses": _responses(200, {"type": "object"}),
            }
        },
        "/v1/connect/apps": {
            "get": {
                "summary": "List the app catalog",
                "security": _BEARER,
                "parameters": [_query("q", {"type": "string"}), *_PAGING],
                "responses": _responses(200, _page_of("App"), 400, 401),
            }
        },
        "/v1/connect/apps/{app_id}": {
            "get": {
                "summary": "Get one app",
                "security": _BEARER,
                "parameters": [_path("app_id", _APP_REF)],
                "responses": _responses(
                    200,
                    {
                        "type": "object",
                        "properties": {"data": {"$ref": "#/components/schemas/App"}},
                    },
                    401,
                    404,
                ),
            }
        },
        f"{_P}/tokens": {
            "post": _project_op(
                "Create a connect token for an external user",
                _responses(200, {"type": "object"}, 400, 401, 404, 429),
                requestBody={"required": True, **_json(connect_token_body)},
            )
        },
        f"{_P}/accounts": {
            "get": _project_op(
                "List accounts",
                _responses(200, _page_of("Account"), 400, 401, 404, 429),
                _query("external_user_id", _USER),
                _query("app", _APP_REF),
                _query("oauth_app_id", {"type": "string"}),
                _query("include_credentials", _BOOL),
                *_PAGING,
            ),
            "post": {
                "summary": "Create an account (the Connect Link flow; connect-token auth)",
                "parameters": [_PROJECT, _ENV, _query("external_user_id", _USER)],
                "requestBody": {"required": True, **_json(create_account_body)},
                "responses": _responses(200, account, 400, 401, 404),
            },
        },
        f"{_P}/accounts/{{account_id}}": {
            "get": _project_op(
                "Get one account",
                _responses(200, account, 400, 401, 404, 429),
                _path("account_id"),
                _query("include_credentials", _BOOL),
            ),
            "delete": _project_op(
                "Delete one account",
                _responses(204, None, 400, 401, 404, 429),
                _path("account_id"),
            ),
        },
        f"{_P}/apps/{{app_id}}/accounts": {
            "delete": _project_op(
                "Delete every account of an app in the project",
                _responses(204, None, 400, 401, 404, 429),
                _path("app_id", _APP_REF),
            )
        },
        f"{_P}/users": {
            "get": _project_op(
                "List external users",
                _responses(200, _page_of("User"), 400, 401, 404),
                _query("q", {"type": "string"}),
                *_PAGING,
            )
        },
        f"{_P}/users/{{external_user_id}}": {
            "delete": _project_op(
                "Delete an external user and all their accounts",
                _responses(204, None, 400, 401, 404, 429),
                _path("external_user_id", _USER),
            )
        },
        f"{_P}/users/{{external_user_id}}/accounts": {
            "get": _project_op(
                "List one external user's accounts",
                _responses(200, {"type": "array", "items": account}, 400, 401, 404, 429),
                _path("external_user_id", _USER),
                _query("app", _APP_REF),
                _query("include_credentials", _BOOL),
            )
        },
        f"{_P}/projects/info": {
            "get": _project_op(
                "The apps this project has accounts for",
                _responses(200, {"type": "object"}, 400, 401, 404),
            )
        },
        "/{endpoint_id}": {method.lower(): workflow for method in METHODS},
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "connect-mcp local Connect server",
            "version": "1",
            "description": "The Pipedream Connect REST API, as served by the local server.",
        },
        "paths": paths,
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


async def openapi_json(_request: Request) -> Response:
    return JSONResponse(document())
