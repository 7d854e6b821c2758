"""One settings class for the whole process.

Pipedream's own names (`PIPEDREAM_*`) are read exactly as the official SDKs read them, so an
operator's existing `.env` works unchanged; everything that is ours carries the
`CONNECT_MCP_` prefix. Each field names its variable through `validation_alias`, which lets
the two prefixes live in one class.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["development", "production"]
ConfirmPolicy = Literal["elicit", "url", "never"]

DEFAULT_BASE_URL = "https://api.pipedream.com"
DEFAULT_WORKFLOW_DOMAIN = "m.pipedream.net"


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


def default_data_dir() -> Path:
    """Where the embedded local server keeps its SQLite file and key files."""
    import os

    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "connect-mcp"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    # --- Pipedream (names as in the official SDKs) -----------------------------------
    client_id: str | None = Field(default=None, validation_alias=_env("PIPEDREAM_CLIENT_ID"))
    client_secret: SecretStr | None = Field(
        default=None, validation_alias=_env("PIPEDREAM_CLIENT_SECRET")
    )
    project_id: str | None = Field(default=None, validation_alias=_env("PIPEDREAM_PROJECT_ID"))
    environment: Environment = Field(
        default="development", validation_alias=_env("PIPEDREAM_PROJECT_ENVIRONMENT")
    )
    base_url: str = Field(default=DEFAULT_BASE_URL, validation_alias=_env("PIPEDREAM_BASE_URL"))
    workflow_domain: str = Field(
        default=DEFAULT_WORKFLOW_DOMAIN, validation_alias=_env("PIPEDREAM_WORKFLOW_DOMAIN")
    )

    # --- ours: the MCP server ---------------------------------------------------------
    external_user_id: str | None = Field(
        default=None, validation_alias=_env("CONNECT_MCP_EXTERNAL_USER_ID")
    )
    confirm: ConfirmPolicy = Field(default="elicit", validation_alias=_env("CONNECT_MCP_CONFIRM"))
    confirm_timeout: float = Field(
        default=300.0, gt=0, validation_alias=_env("CONNECT_MCP_CONFIRM_TIMEOUT")
    )
    workflow_allowlist: list[str] = Field(
        default_factory=list, validation_alias=_env("CONNECT_MCP_WORKFLOW_ALLOWLIST")
    )
    workflow_response_limit: int = Field(
        default=16_384, gt=0, validation_alias=_env("CONNECT_MCP_WORKFLOW_RESPONSE_LIMIT")
    )
    #: Where Connect reports the end of each connection, and where the person's browser goes
    #: afterwards: the operator's choice for every link `create_connect_link` makes (never
    #: the model's, which could point them at a site of its choosing).
    connect_webhook_uri: str | None = Field(
        default=None, validation_alias=_env("CONNECT_MCP_CONNECT_WEBHOOK_URI")
    )
    connect_success_redirect_uri: str | None = Field(
        default=None, validation_alias=_env("CONNECT_MCP_CONNECT_SUCCESS_REDIRECT_URI")
    )
    connect_error_redirect_uri: str | None = Field(
        default=None, validation_alias=_env("CONNECT_MCP_CONNECT_ERROR_REDIRECT_URI")
    )
    jwt_secret: SecretStr | None = Field(
        default=None, validation_alias=_env("CONNECT_MCP_JWT_SECRET")
    )
    jwt_public_key: str | None = Field(
        default=None, validation_alias=_env("CONNECT_MCP_JWT_PUBLIC_KEY")
    )
    jwt_user_claim: str = Field(default="sub", validation_alias=_env("CONNECT_MCP_JWT_USER_CLAIM"))
    jwt_audience: str | None = Field(
        default=None, validation_alias=_env("CONNECT_MCP_JWT_AUDIENCE")
    )
    jwt_issuer: str | None = Field(default=None, validation_alias=_env("CONNECT_MCP_JWT_ISSUER"))
    log_level: str = Field(default="info", validation_alias=_env("CONNECT_MCP_LOG_LEVEL"))
    #: Extra Host names (comma-separated) the HTTP server accepts besides loopback and this
    #: machine's hostname; "*" turns the Host check off.
    allowed_hosts: str = Field(default="", validation_alias=_env("CONNECT_MCP_ALLOWED_HOSTS"))
    #: Publish each tool's `outputSchema` in `tools/list` (off: results still carry
    #: `structuredContent`; the schemas cost ~5 KB of context on every turn).
    output_schemas: bool = Field(default=False, validation_alias=_env("CONNECT_MCP_OUTPUT_SCHEMAS"))

    # --- ours: the embedded / standalone local Connect server -------------------------
    data_dir: Path = Field(
        default_factory=default_data_dir, validation_alias=_env("CONNECT_MCP_DATA_DIR")
    )
    local_encryption_key: SecretStr | None = Field(
        default=None, validation_alias=_env("CONNECT_MCP_LOCAL_ENCRYPTION_KEY")
    )
    local_token_rate_per_minute: int = Field(
        default=100, gt=0, validation_alias=_env("CONNECT_MCP_LOCAL_TOKEN_RATE_PER_MINUTE")
    )
    local_account_rate_per_window: int = Field(
        default=2000, gt=0, validation_alias=_env("CONNECT_MCP_LOCAL_ACCOUNT_RATE_PER_WINDOW")
    )
    local_account_rate_window_seconds: float = Field(
        default=300.0, gt=0, validation_alias=_env("CONNECT_MCP_LOCAL_ACCOUNT_RATE_WINDOW_SECONDS")
    )

    @property
    def has_pipedream_credentials(self) -> bool:
        """The embedded local server is used exactly when this is false."""
        return bool(self.client_id and self.client_secret and self.project_id)
