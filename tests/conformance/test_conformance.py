"""The official MCP conformance suite against `connect-mcp serve --http --dev-user`.

Our other tests speak to the server through the `mcp` SDK's own client, which forgives what
other clients will not; this suite was written by others, for every MCP server. It runs once
per protocol era:

* `--spec-version 2025-11-25`: the handshake revisions (initialize, sessions, pushed requests);
* `--requirements 2026-07-28`: exactly what the stateless revision requires, frozen at release.

Each revision has an `expected-checks-<revision>.yaml` here: every check the suite runs (read
from the `checks.json` it writes per scenario), with the status it must have, and a one-line
reason for every status but SUCCESS. The test fails on any difference either way: a passing
check that regresses, goes missing or gets a new id, and an excused check that starts passing
(so the excused list can only shrink). The suite's own `--expected-failures` works per scenario
and would excuse a whole scenario for one failing check, so it is not used; the suite's exit
code says only whether some check failed, which the baseline already accounts for. The
scenarios that apply to any server (`MUST_PASS`) may have no excused failure or warning.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.conformance.conftest import HERE, DevServer, NodeTools
from tests.support import missing_part

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
_SCENARIO = re.compile(r"^(?P<scenario>[a-z0-9-]+):$")
_CHECK = re.compile(r"^  (?P<check>[a-z0-9-]+): (?P<status>[A-Z]+)(?: # (?P<reason>\S.*))?$")
STATUSES = {"SUCCESS", "FAILURE", "WARNING", "SKIPPED", "INFO"}
#: An excused failure or warning in one of these would be a real regression.
_NEVER_EXCUSED_IN_MUST_PASS = {"FAILURE", "WARNING"}


def baseline(revision: str) -> Path:
    return HERE / f"expected-checks-{revision}.yaml"


def baseline_checks(revision: str) -> dict[tuple[str, str], tuple[str, str | None]]:
    """(scenario, check id) -> (status, reason). Strict shape: a `scenario:` line, then its
    checks, one `  id: STATUS` line each; every status but SUCCESS needs a `# reason`, and
    SUCCESS must not carry one (a stale reason would read like an excuse)."""
    entries: dict[tuple[str, str], tuple[str, str | None]] = {}
    scenario = None
    for line in baseline(revision).read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if head := _SCENARIO.match(line):
            scenario = head["scenario"]
            assert all(s != scenario for s, _ in entries), f"scenario {scenario} listed twice"
            continue
        match = _CHECK.match(line)
        assert match, f"not a `  check-id: STATUS # reason` line: {line!r}"
        assert scenario is not None, f"check before any scenario: {line!r}"
        status, reason = match["status"], match["reason"]
        assert status in STATUSES, f"unknown status {status} in {line!r}"
        if status == "SUCCESS":
            assert reason is None, f"a passing check needs no reason: {line!r}"
        else:
            assert reason, f"an excused check without a '# reason': {line!r}"
        key = (scenario, match["check"])
        assert key not in entries, f"duplicate check {key}"
        entries[key] = (status, reason)
    return entries


def run_checks(output_dir: Path) -> dict[tuple[str, str], set[str]]:
    """(scenario, check id) -> the statuses its checks got in this run (one id can occur more
    than once in a scenario, e.g. an HTTP 400 check after each of several requests)."""
    results: dict[tuple[str, str], set[str]] = {}
    for path in output_dir.iterdir():
        match = _RESULT_DIR.match(path.name)
        assert match, f"unexpected entry {path.name} in the suite's output"
        assert (path / "checks.json").exists(), f"{path.name}: the suite wrote no checks.json"
        for check in json.loads((path / "checks.json").read_text()):
            results.setdefault((match["scenario"], check["id"]), set()).add(check["status"])
    return results


@pytest.mark.parametrize("revision", sorted(MUST_PASS))
def test_baseline_is_reasoned_and_never_excuses_a_must_pass(revision: str) -> None:
    entries = baseline_checks(revision)
    scenarios = {scenario for scenario, _ in entries}
    assert set(MUST_PASS[revision]) <= scenarios, "every must-pass scenario is in the baseline"
    excused = sorted(
        f"{scenario}/{check}: {status}"
        for (scenario, check), (status, _) in entries.items()
        if scenario in MUST_PASS[revision] and status in _NEVER_EXCUSED_IN_MUST_PASS
    )
    assert not excused, f"must-pass scenarios with excused checks: {excused}"
    # The same file read by a YAML parser: a line our parser took differently would show here.
    if importlib.util.find_spec("yaml") is None:  # PyYAML comes with schemathesis
        missing_part("PyYAML is not installed")
    yaml = importlib.import_module("yaml")
    parsed = yaml.safe_load(baseline(revision).read_text())
    assert {(s, c): st for s, checks in parsed.items() for c, st in checks.items()} == {
        key: status for key, (status, _) in entries.items()
    }


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
    # 0: every check passed, 1: some check failed (judged below against the baseline). Anything
    # else is the suite itself failing.
    assert done.returncode in (0, 1), f"conformance {revision} exited {done.returncode}\n{report}"
    assert output.is_dir(), f"conformance {revision} wrote no results\n{report}"
    expected = {key: status for key, (status, _) in baseline_checks(revision).items()}
    actual = run_checks(output)
    diff = []
    for key in sorted(expected.keys() | actual.keys()):
        want, got = expected.get(key, "not listed"), actual.get(key, {"not run"})
        if got != {want}:
            diff.append(f"{key[0]}/{key[1]}: expected {want}, got {'/'.join(sorted(got))}")
    assert not diff, (
        f"conformance {revision} differs from {baseline(revision).name} (a check that now passes:"
        f" mark it SUCCESS and drop its reason):\n" + "\n".join(diff) + f"\n{summary}"
    )
