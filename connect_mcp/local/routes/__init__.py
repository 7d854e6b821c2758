"""The route table: exactly the Connect REST API paths the design names."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from connect_mcp.local.connect_page import page_routes
from connect_mcp.local.openapi import openapi_json
from connect_mcp.local.routes import accounts, apps, oauth, tokens, users
from connect_mcp.local.workflows import workflow_routes

_P = "/v1/connect/{project_id}"


def api_routes() -> list[BaseRoute]:
    return [
        Route("/v1/oauth/token", oauth.create_token, methods=["POST"]),
        Route("/v1/connect/tokens/{ctok}/validate", tokens.validate, methods=["GET"]),
        Route("/v1/connect/apps", apps.list_apps, methods=["GET"]),
        Route("/v1/connect/apps/{app_id}", apps.get_app, methods=["GET"]),
        Route(f"{_P}/tokens", tokens.create, methods=["POST"]),
        Route(f"{_P}/accounts", accounts.list_accounts, methods=["GET"]),
        Route(f"{_P}/accounts", accounts.create_account, methods=["POST"]),
        Route(f"{_P}/accounts/{{account_id}}", accounts.get_account, methods=["GET"]),
        Route(f"{_P}/accounts/{{account_id}}", accounts.delete_account, methods=["DELETE"]),
        Route(f"{_P}/apps/{{app_id}}/accounts", accounts.delete_app_accounts, methods=["DELETE"]),
        Route(f"{_P}/users", users.list_users, methods=["GET"]),
        Route(f"{_P}/users/{{external_user_id}}", users.delete_user, methods=["DELETE"]),
        Route(f"{_P}/users/{{external_user_id}}/accounts", accounts.user_accounts, methods=["GET"]),
        Route(f"{_P}/projects/info", apps.project_info, methods=["GET"]),
        Route("/openapi.json", openapi_json, methods=["GET"]),
        *page_routes(),  # the Connect Link page (issue 3)
        *workflow_routes(),  # built-in workflows at /{endpoint_id}: keep last
    ]
