"""One settings class for the whole process.

Pipedream's own names (`PIPEDREAM_*`) are read exactly as the official SDKs read them, so an
operator's existing `.env` works unchanged; everything that is ours carries the
`CONNECT_MCP_` prefix. Each field names its variable through `validation_alias`, which lets
the two prefixes live in one class.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

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
    #: `url` policy: how long a confirmation page stays valid; the call waits at most this.
    confirm_expiry: float = Field(
        default=600.0, gt=0, le=3600, validation_alias=_env("CONNECT_MCP_CONFIRM_EXPIRY")
    )
    #: `url` policy over stdio: the loopback port of the confirmation pages (0 = any free one).
    confirm_page_port: int = Field(
        default=0, ge=0, le=65535, validation_alias=_env("CONNECT_MCP_CONFIRM_PAGE_PORT")
    )
    #: The address people's browsers use to reach this HTTP server (behind a proxy, say);
    #: confirmation page links start with it. Default: the address the server listens on.
    public_url: str | None = Field(default=None, validation_alias=_env("CONNECT_MCP_PUBLIC_URL"))
    workflow_allowlist: Annotated[list[str], NoDecode] = Field(
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
    #: The workflow endpoints (ids like `en123abc`, or hosts) that may receive this project's
    #: Pipedream access token (`invoke_workflow` with auth `oauth`), comma-separated. The
    #: workflow domain is shared by every Pipedream user, so nothing else gets the token;
    #: empty (the default): auth `oauth` is refused everywhere.
    workflow_oauth_endpoints: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias=_env("CONNECT_MCP_WORKFLOW_OAUTH_ENDPOINTS")
    )

    @field_validator("workflow_allowlist", "workflow_oauth_endpoints", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        """Lists in the environment: `a,b` as people write them, or a JSON list."""
        if isinstance(value, str):
            if value.lstrip().startswith("["):
                import json

                return json.loads(value)
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

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
