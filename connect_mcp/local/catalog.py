"""The built-in app catalog: what a local project can connect.

Each entry has every field the official SDKs' `App` model requires (`name_slug`, `name`,
`img_src`, `categories`, `featured_weight`, `scope_profiles`), and describes its credential
fields in `custom_fields_json` the way the real API does: a JSON *string* holding a list of
`{name, label, type?, description?, optional?, default?}`. App ids are derived from the slug,
so they are stable across restarts and data directories.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

AuthType = Literal["oauth", "keys"]

# The fields an OAuth account's credentials may carry, as the real API names them.
OAUTH_FIELDS = (
    "oauth_access_token",
    "oauth_refresh_token",
    "oauth_client_id",
    "oauth_uid",
    "oauth_signer_uri",
    "oauth_token_type",
    "oauth_scopes",
    "oauth_expires_in",
)

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@functools.lru_cache(maxsize=1024)  # pure; asked for every account in every response
def _stable_id(prefix: str, seed: str, length: int = 6) -> str:
    number = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big")
    chars = []
    for _ in range(length):
        number, rem = divmod(number, len(_ALPHABET))
        chars.append(_ALPHABET[rem])
    return prefix + "".join(chars)


@dataclass(frozen=True)
class CustomField:
    name: str
    label: str
    type: Literal["string", "password"] = "string"
    description: str | None = None
    optional: bool = False
    default: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "label": self.label}
        if self.description:
            out["description"] = self.description
        if self.type != "string":
            out["type"] = self.type
        if self.optional:
            out["optional"] = True
        if self.default is not None:
            out["default"] = self.default
        return out


@dataclass(frozen=True)
class CatalogApp:
    name_slug: str
    name: str
    auth_type: AuthType
    description: str
    categories: tuple[str, ...]
    featured_weight: float
    fields: tuple[CustomField, ...] = ()
    scopes: tuple[str, ...] = field(default=())
    read_scopes: tuple[str, ...] = field(default=())

    @property
    def id(self) -> str:
        return _stable_id("app_", self.name_slug)

    @property
    def oauth_app_id(self) -> str | None:
        return _stable_id("oa_", self.name_slug) if self.auth_type == "oauth" else None

    @property
    def credential_fields(self) -> frozenset[str]:
        """Every field name a stored credential map may hold for this app."""
        names = {f.name for f in self.fields}
        if self.auth_type == "oauth":
            names.update(OAUTH_FIELDS)
        return frozenset(names)

    @property
    def required_fields(self) -> tuple[str, ...]:
        required = [f.name for f in self.fields if not f.optional and f.default is None]
        if self.auth_type == "oauth":
            required.insert(0, "oauth_access_token")
        return tuple(required)

    def to_json(self) -> dict[str, Any]:
        """The `App` object exactly as the API returns it."""
        profiles: list[dict[str, Any]] = []
        if self.read_scopes:
            profiles.append({"name": "read_only", "scopes": list(self.read_scopes)})
        if self.scopes:
            profiles.append({"name": "read_write", "scopes": list(self.scopes)})
        return {
            "id": self.id,
            "name_slug": self.name_slug,
            "name": self.name,
            "auth_type": self.auth_type,
            "description": self.description,
            "img_src": f"https://assets.pipedream.net/s.v0/{self.id}/logo/orig",
            "custom_fields_json": json.dumps(
                [f.to_json() for f in self.fields], separators=(",", ":")
            ),
            "categories": list(self.categories),
            "featured_weight": self.featured_weight,
            "scope_profiles": profiles,
            "oauth_app_id": self.oauth_app_id,
            "connect": {
                "proxy_enabled": True,
                "allowed_domains": [],
                "base_proxy_target_url": None,
            },
        }


def _pw(name: str, label: str, description: str | None = None) -> CustomField:
    return CustomField(name, label, "password", description)


_APPS: tuple[CatalogApp, ...] = (
    CatalogApp(
        "github",
        "GitHub",
        "oauth",
        "Where the world builds software. Millions of developers and companies build, ship, "
        "and maintain their software on GitHub.",
        ("Developer Tools",),
        5100,
        scopes=("read:user", "repo", "workflow"),
        read_scopes=("read:user", "repo:status"),
    ),
    CatalogApp(
        "slack",
        "Slack",
        "oauth",
        "Slack is the AI-powered platform for work bringing all of your conversations, apps, "
        "and customers together in one place.",
        ("Communication",),
        9500,
        scopes=("channels:read", "users:read", "chat:write"),
        read_scopes=("channels:read", "users:read"),
    ),
    CatalogApp(
        "google_sheets",
        "Google Sheets",
        "oauth",
        "Use Google Sheets to create and edit online spreadsheets. Get insights together with "
        "secure sharing in real-time and from any device.",
        ("Productivity",),
        9200,
        scopes=("https://www.googleapis.com/auth/spreadsheets",),
        read_scopes=("https://www.googleapis.com/auth/spreadsheets.readonly",),
    ),
    CatalogApp(
        "gmail",
        "Gmail",
        "oauth",
        "Private and secure email by Google at no cost, for business and consumers.",
        ("Communication", "Email"),
        9000,
        scopes=(
            "https://www.googleapis.com/auth/gmail.readonly",
            "https://www.googleapis.com/auth/gmail.send",
        ),
        read_scopes=("https://www.googleapis.com/auth/gmail.readonly",),
    ),
    CatalogApp(
        "notion",
        "Notion",
        "oauth",
        "Notion is a new tool that blends your everyday work apps into one. It's the all-in-one "
        "workspace for you and your team.",
        ("Productivity",),
        8400,
    ),
    CatalogApp(
        "hubspot",
        "HubSpot",
        "oauth",
        "HubSpot's CRM platform contains the marketing, sales, service, operations, and "
        "website-building software you need to grow your business.",
        ("Sales and CRM", "Marketing"),
        7800,
        scopes=("crm.objects.contacts.read", "crm.objects.contacts.write"),
        read_scopes=("crm.objects.contacts.read",),
    ),
    CatalogApp(
        "shopify_developer_app",
        "Shopify",
        "oauth",
        "Shopify is a complete commerce platform that lets anyone start, manage, and grow a "
        "business.",
        ("E-commerce",),
        6100,
        fields=(
            CustomField(
                "shop_id",
                "Shop ID",
                description="Your store's myshopify.com subdomain, e.g. `my-store`",
            ),
        ),
    ),
    CatalogApp(
        "linear_app",
        "Linear",
        "oauth",
        "Linear helps streamline software projects, sprints, tasks, and bug tracking.",
        ("Project Management", "Developer Tools"),
        4200,
        scopes=("read", "write"),
        read_scopes=("read",),
    ),
    CatalogApp(
        "openai",
        "OpenAI (ChatGPT)",
        "keys",
        "OpenAI is an AI research and deployment company with the mission to ensure that "
        "artificial general intelligence benefits all of humanity.",
        ("Artificial Intelligence (AI)",),
        8800,
        fields=(
            _pw("api_key", "API Key", "Find your API key at https://platform.openai.com/api-keys"),
            CustomField(
                "organization",
                "Organization ID",
                optional=True,
                description="Only needed if you belong to several organizations",
            ),
        ),
    ),
    CatalogApp(
        "anthropic",
        "Anthropic (Claude)",
        "keys",
        "AI research and products that put safety at the frontier.",
        ("Artificial Intelligence (AI)",),
        7300,
        fields=(_pw("api_key", "API Key", "Create a key in the Anthropic Console"),),
    ),
    CatalogApp(
        "stripe",
        "Stripe",
        "keys",
        "Stripe powers online and in-person payment processing and financial solutions for "
        "businesses of all sizes.",
        ("Payment Processing",),
        7100,
        fields=(_pw("api_key", "Secret Key", "Your `sk_live_...` or `sk_test_...` key"),),
    ),
    CatalogApp(
        "sendgrid",
        "SendGrid",
        "keys",
        "Delivering your transactional and marketing emails through the world's largest cloud-"
        "based email delivery platform.",
        ("Email",),
        3900,
        fields=(_pw("api_key", "API Key"),),
    ),
    CatalogApp(
        "twilio",
        "Twilio",
        "keys",
        "Twilio is a cloud communications platform as a service (CPaaS) company.",
        ("Communication", "Phone & SMS"),
        4800,
        fields=(
            CustomField("accountSid", "Account SID", description="Starts with `AC`"),
            _pw("authToken", "Auth Token"),
        ),
    ),
    CatalogApp(
        "datadog",
        "Datadog",
        "keys",
        "Datadog is the essential monitoring and security platform for cloud applications.",
        ("Developer Tools", "IT Operations"),
        2600,
        fields=(
            _pw("api_key", "API Key"),
            _pw("application_key", "Application Key"),
            CustomField(
                "base_url",
                "Site",
                optional=True,
                default="datadoghq.com",
                description="e.g. `datadoghq.eu` or `us5.datadoghq.com`",
            ),
        ),
    ),
    CatalogApp(
        "airtable_oauth",
        "Airtable",
        "oauth",
        "Airtable is a low-code platform to build next-gen apps. Move beyond rigid tools, "
        "operationalize your critical data, and reimagine workflows with AI.",
        ("Productivity", "Databases"),
        8100,
        scopes=("data.records:read", "data.records:write", "schema.bases:read"),
        read_scopes=("data.records:read", "schema.bases:read"),
    ),
    CatalogApp(
        "postgresql",
        "PostgreSQL",
        "keys",
        "PostgreSQL is a powerful, open source object-relational database system.",
        ("Databases",),
        3300,
        fields=(
            CustomField("host", "Host"),
            CustomField("port", "Port", default="5432"),
            CustomField("user", "Username"),
            _pw("password", "Password"),
            CustomField("database", "Database"),
        ),
    ),
)

APPS: tuple[CatalogApp, ...] = tuple(sorted(_APPS, key=lambda a: (-a.featured_weight, a.name_slug)))
_BY_KEY: dict[str, CatalogApp] = {a.name_slug: a for a in APPS} | {a.id: a for a in APPS}


def find_app(slug_or_id: str) -> CatalogApp | None:
    """An app by its name slug or its id (`app_…`), as the API's `app` parameters accept."""
    return _BY_KEY.get(slug_or_id)


def find_by_oauth_app_id(oauth_app_id: str) -> CatalogApp | None:
    return next((a for a in APPS if a.oauth_app_id == oauth_app_id), None)
