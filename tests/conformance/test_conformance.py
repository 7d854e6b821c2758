"""The official MCP conformance suite against `connect-mcp serve --http --dev-user`.

Our other tests speak to the server through the `mcp` SDK's own client, which forgives what
other clients will not; this suite was written by others, for every MCP server. It runs once
per protocol era:

* `--spec-version 2025-11-25`: the handshake revisions (initialize, sessions, pushed requests);
* `--requirements 2026-07-28`: exactly what the stateless revision requires, frozen at release.

Each revision has an `--expected-failures` file here, one scenario a line, each with its
reason: the scenarios that need the fixture tools/prompts/resources of the SDK's "everything"
server. The suite itself exits non-zero on an unexpected failure *and* on a stale entry (a
listed scenario that now passes), so the file can only shrink. On top of that, this test reads
the per-scenario `checks.json` files and requires the scenarios that apply to any server to
have no failing or warning check - the suite does not score scenarios it calls "pending" (such
as http-header-validation), so its exit code alone would not notice them regress.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from tests.conformance.conftest import HERE, DevServer, NodeTools

pytestmark = [pytest.mark.node, pytest.mark.timeout(300)]

#: What every MCP server must pass, fixtures or not (the issue's list, per era).
MUST_PASS = {
    "2025-11-25": [
        "server-initialize",
        "server-session-lifecycle",
        "ping",
        "tools-list",
        "resources-list",
        "prompts-list",
        "server-sse-multiple-streams",
        "dns-rebinding-protection",
    ],
    "2026-07-28": [
        "tools-list",
        "resources-list",
        "prompts-list",
        "server-sse-multiple-streams",
        "dns-rebinding-protection",
        "caching",
        "http-header-validation",
        "sep-2164-resource-not-found",
        # The input-required scenarios that need no fixture tool; our gate itself is driven
        # through the same checks in test_input_required.py.
        "input-required-result-unsupported-methods",
        "input-required-result-ignore-extra-params",
    ],
}
SELECTOR = {
    "2025-11-25": ["--spec-version", "2025-11-25"],
    "2026-07-28": ["--requirements", "2026-07-28"],
}
_RESULT_DIR = re.compile(r"^server-(?P<scenario>.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$")
_ENTRY = re.compile(r"^  - (?P<scenario>[a-z0-9-]+) # (?P<reason>\S.*)$")


def baseline(revision: str) -> Path:
    return HERE / f"expected-failures-{revision}.yaml"


def baseline_entries(revision: str) -> dict[str, str]:
    """scenario -> reason. Only the shape the suite reads (a `server:` list) and one comment per
    entry are allowed: an entry without a reason is a test failure."""
    entries: dict[str, str] = {}
    section = None
    for line in baseline(revision).read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if not line.startswith(" "):
            section = line.rstrip()
            assert section == "server:", f"unexpected section {line!r}"
            continue
        match = _ENTRY.match(line)
        assert match, f"entry without a '# reason' comment: {line!r}"
        assert match["scenario"] not in entries, f"duplicate entry {match['scenario']}"
        entries[match["scenario"]] = match["reason"]
    return entries


def scenario_statuses(output_dir: Path) -> dict[str, Counter[str]]:
    """scenario -> Counter of check statuses (SUCCESS, FAILURE, WARNING, SKIPPED, ...)."""
    results: dict[str, Counter[str]] = {}
    for path in output_dir.iterdir():
        match = _RESULT_DIR.match(path.name)
        if match and (path / "checks.json").exists():
            checks = json.loads((path / "checks.json").read_text())
            results[match["scenario"]] = Counter(c["status"] for c in checks)
    return results


@pytest.mark.parametrize("revision", sorted(MUST_PASS))
def test_expected_failures_are_reasoned_and_never_excuse_a_must_pass(revision: str) -> None:
    entries = baseline_entries(revision)
    assert entries, "an empty baseline should be deleted, not kept"
    excused = sorted(set(entries) & set(MUST_PASS[revision]))
    assert not excused, f"must-pass scenarios listed as expected failures: {excused}"
    # The suite itself also parses the file; a YAML mistake must not hide entries from it.
    yaml = pytest.importorskip("yaml")
    assert yaml.safe_load(baseline(revision).read_text()) == {"server": list(entries)}


@pytest.mark.parametrize("revision", sorted(MUST_PASS))
def test_conformance_suite(
    node_tools: NodeTools, dev_server: DevServer, tmp_path: Path, revision: str
) -> None:
    output = tmp_path / "results"
    command = [
        str(node_tools.node),
        str(node_tools.conformance),
        "server",
        "--url",
        dev_server.url,
        *SELECTOR[revision],
        "--expected-failures",
        str(baseline(revision)),
        "--output-dir",
        str(output),
    ]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=240,
        env=node_tools.env(tmp_path),
        cwd=tmp_path,
        check=False,
    )
    report = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)
    summary = report[report.find("=== SUMMARY ===") :] or report[-4000:]
    statuses = scenario_statuses(output)
    bad = {
        name: dict(statuses[name]) if name in statuses else "did not run"
        for name in MUST_PASS[revision]
        if name not in statuses or statuses[name]["FAILURE"] or statuses[name]["WARNING"]
    }
    assert not bad, f"must-pass scenarios failed on {revision}: {bad}\n{summary}"
    assert done.returncode == 0, f"conformance {revision}: baseline check failed\n{summary}"
