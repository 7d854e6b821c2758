"""The compact schemas published in `tools/list`: same constraints, fewer bytes."""

from __future__ import annotations

import json
from typing import Annotated, Any

import jsonschema  # type: ignore[import-untyped]
import pytest
from mcp import Client
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field, WithJsonSchema

from connect_mcp.local.embedded import LocalCredentials
from connect_mcp.tools._base import (
    OUTPUT_SCHEMAS,
    ToolOutput,
    _check_optional_outputs,
    compact_annotations,
    optional,
)
from connect_mcp.tools._schema import compact_input, compact_output
from tests.server.helpers import make_server, new_user


class Item(BaseModel):
    title: str = Field(description="A field that happens to be called title.")
    note: str | None = optional("Only when there is one.")


class Page(ToolOutput):
    items: list[Item]
    cursor: str | None = Field(description="null on the last page.")


class Args(BaseModel):
    ref: Annotated[str, Field(max_length=9, description="inner")] | None = Field(
        default=None, description="outer"
    )
    limit: int = Field(default=20, ge=1, le=100, description="Page size.")
    pick: dict[str, Any] = Field(default={"title": "kept"}, description="A data default.")


def test_output_schema_is_inlined_untitled_and_still_accurate() -> None:
    schema = compact_output(Page.model_json_schema())
    text = json.dumps(schema)
    assert "$ref" not in text
    assert "$defs" not in text
    item = schema["properties"]["items"]["items"]
    assert "title" in item["properties"]  # a property named title is kept
    assert "title" not in item["properties"]["title"]  # the keyword is dropped
    assert item["properties"]["note"] == {
        "type": "string",
        "description": "Only when there is one.",
    }
    assert item["required"] == ["title"]
    # required and nullable: keeps a portable anyOf (no `type` array)
    assert schema["properties"]["cursor"]["anyOf"] == [{"type": "string"}, {"type": "null"}]
    for value in (
        Page(items=[Item(title="a"), Item(title="b", note="n")], cursor=None),
        Page(items=[], cursor="c"),
    ):
        jsonschema.validate(value.model_dump(mode="json"), schema)
    assert "note" not in Item(title="a").model_dump()
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"items": [{"title": "a", "note": None}], "cursor": None}, schema)


def test_input_schema_keeps_limits_and_descriptions() -> None:
    schema = compact_input(Args.model_json_schema())
    props = schema["properties"]
    assert props["ref"] == {"type": "string", "maxLength": 9, "description": "outer"}
    assert props["limit"] == {
        "default": 20,
        "description": "Page size.",
        "maximum": 100,
        "minimum": 1,
        "type": "integer",
    }
    assert props["pick"]["default"] == {"title": "kept"}  # data is not a schema
    assert "title" not in schema


def test_a_none_default_output_must_be_left_out_when_none() -> None:
    class Sloppy(ToolOutput):
        maybe: str | None = None

    class Holder(ToolOutput):
        inner: list[Sloppy]

    with pytest.raises(TypeError, match=r"Sloppy\.maybe"):
        _check_optional_outputs(Holder)


async def test_published_schemas_are_compact(local_server: LocalCredentials) -> None:
    async with Client(make_server(local_server, new_user(), output_schemas=True)) as client:
        tools = (await client.list_tools()).tools
    assert len(tools) == 10
    for tool in tools:
        assert tool.output_schema is not None, tool.name
        assert tool.output_schema == OUTPUT_SCHEMAS[tool.name], tool.name
        assert tool.output_schema.get("type") == "object", tool.name
        for schema in (tool.input_schema, tool.output_schema):
            text = json.dumps(schema)
            assert "$ref" not in text, tool.name
            assert '"title"' not in text, tool.name
            jsonschema.validators.validator_for(schema).check_schema(schema)


async def test_output_schemas_are_opt_in(local_server: LocalCredentials) -> None:
    """Off by default (they cost context on every turn); results keep structuredContent."""
    user = new_user()
    async with Client(make_server(local_server, user)) as client:
        tools = (await client.list_tools()).tools
        listing = await client.call_tool("list_accounts", {})
    assert [t.name for t in tools if t.output_schema is not None] == []
    assert listing.structured_content is not None
    jsonschema.validate(listing.structured_content, OUTPUT_SCHEMAS["list_accounts"])


def test_input_schema_drops_only_what_says_nothing() -> None:
    class Ids(BaseModel):
        slug: str = Field(min_length=1, max_length=9, pattern=r"^[a-z\-]+$", description="s")
        pair: str = Field(min_length=2, pattern=r"^[a-z]+$", description="p")
        maybe: str = Field(min_length=1, pattern=r"^[a-z]*$", description="m")
        free: Annotated[Any, WithJsonSchema({"type": "object"})] = Field(
            default=None, description="f"
        )

    props = compact_input(Ids.model_json_schema())["properties"]
    # `^[...]+$` already demands a character; `*` does not, and 2 is more than it demands
    assert props["slug"] == {
        "type": "string",
        "maxLength": 9,
        "pattern": r"^[a-z\-]+$",
        "description": "s",
    }
    assert props["pair"]["minLength"] == 2
    assert props["maybe"]["minLength"] == 1
    assert props["free"] == {"type": "object", "description": "f"}  # omitted means null
    for value, ok in (("ab-c", True), ("", False), ("a" * 10, False), ("A", False)):
        assert (not list(jsonschema.Draft202012Validator(props["slug"]).iter_errors(value))) is ok


def test_read_only_annotations_drop_only_the_hints_mcp_ignores_there() -> None:
    read = ToolAnnotations(
        title="t", read_only_hint=True, destructive_hint=False, idempotent_hint=True,
        open_world_hint=True,
    )  # fmt: skip
    write = ToolAnnotations(
        read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True
    )
    assert compact_annotations(read) == ToolAnnotations(
        title="t", read_only_hint=True, open_world_hint=True
    )
    assert compact_annotations(write) == write
    assert compact_annotations(None) is None
