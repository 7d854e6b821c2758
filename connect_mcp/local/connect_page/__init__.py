"""The Connect Link page: where an end user really connects an account to the local server.

`connect_link_url` from token creation points here. See `handlers` for the routes, `flow`
for what connecting does, `fields` for the credential form, `render` for escaping and
headers.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from connect_mcp.local.connect_page import handlers


def page_routes() -> list[BaseRoute]:
    return [
        Route(handlers.PAGE_PATH, handlers.show, methods=["GET"]),
        Route("/_static/connect.css", handlers.stylesheet, methods=["GET"]),
        Route("/_static/connect/keys", handlers.submit_keys, methods=["POST"]),
        Route("/_static/connect/oauth", handlers.submit_consent, methods=["POST"]),
    ]
