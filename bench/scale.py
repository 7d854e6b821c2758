"""Figure 5: the local Connect server at scale, and connect tokens per second.

Data sets of N accounts (N/20 users with 20 accounts each) are written straight into the
store with the local server's own seeding code (`connect_mcp.local.seed`) and cached under the
bench cache dir (default ~/.cache/connect-mcp-bench, or XDG_CACHE_HOME), never in the repo:
the 1M set is built once. One embedded server per size runs at once; the GETs of one user's
first page of 20 (`GET .../accounts?external_user_id=U&limit=20`) alternate between sizes.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import httpx2

from bench.common import UNLIMITED, Options, Row, fmt, median, percentile

#: Bump when the seeded shape or the store schema changes, so stale caches are rebuilt.
CACHE_VERSION = 1
PER_USER = 20


def dataset(cache_dir: Path, size: int) -> Path:
    """A data dir with `size` accounts, built once (atomically) and reused."""
    from connect_mcp.local.seed import seed

    target = cache_dir / f"scale-v{CACHE_VERSION}-{size}"
    if (target / "complete").exists():
        return target
    building = cache_dir / f".building-{size}"
    shutil.rmtree(building, ignore_errors=True)
    started = time.perf_counter()
    seed(building, users=max(1, size // PER_USER), accounts_per_user=PER_USER)
    (building / "complete").write_text(f"{time.perf_counter() - started:.1f}s\n")
    shutil.rmtree(target, ignore_errors=True)
    building.rename(target)
    return target


class Api:
    def __init__(self, data_dir: Path) -> None:
        from connect_mcp.local.embedded import EmbeddedServer

        self.server = EmbeddedServer(
            data_dir, token_rate_per_minute=UNLIMITED, account_rate_per_window=UNLIMITED
        )
        creds = self.server.start()
        self.project = creds.project_id
        self.http = httpx2.Client(base_url=creds.base_url, timeout=30)
        token = self.http.post(
            "/v1/oauth/token",
            json={
                "grant_type": "client_credentials",
                "client_id": creds.client_id,
                "client_secret": creds.client_secret,
            },
        ).json()["access_token"]
        self.http.headers["authorization"] = f"Bearer {token}"
        self.http.headers["x-pd-environment"] = "development"

    def page(self, user: str) -> float:
        start = time.perf_counter()
        response = self.http.get(
            f"/v1/connect/{self.project}/accounts",
            params={"external_user_id": user, "limit": "20"},
        )
        elapsed = time.perf_counter() - start
        response.raise_for_status()
        assert len(response.json()["data"]) == PER_USER
        return elapsed

    def token(self, user: str) -> None:
        response = self.http.post(
            f"/v1/connect/{self.project}/tokens", json={"external_user_id": user}
        )
        response.raise_for_status()

    def close(self) -> None:
        self.http.close()
        self.server.stop()


def run(opts: Options) -> list[Row]:
    sizes = opts.scale_sizes
    dirs = [dataset(opts.cache_dir, size) for size in sizes]
    apis = [Api(d) for d in dirs]
    try:
        p50: dict[int, list[float]] = {s: [] for s in sizes}
        ratios: list[float] = []
        rates: list[float] = []
        for r in range(opts.repeats):
            times: dict[int, list[float]] = {s: [] for s in sizes}
            for i in range(opts.scale_requests + 3):
                for k in range(len(sizes)):
                    j = (k + i) % len(sizes)
                    users = sizes[j] // PER_USER
                    user = f"seed-user-{(users // 2 + i) % users:05d}"  # the middle users
                    t = apis[j].page(user)
                    if i >= 3:  # the first rounds warm connections and caches
                        times[sizes[j]].append(t)
            for s in sizes:
                p50[s].append(percentile(times[s], 50))
            ratios.append(percentile(times[sizes[-1]], 50) / percentile(times[sizes[0]], 50))
            start = time.perf_counter()
            for i in range(opts.tokens):
                apis[0].token(f"bench-token-user-{r}-{i}")
            rates.append(opts.tokens / (time.perf_counter() - start))
    finally:
        for api in apis:
            api.close()
    ms = 1000.0
    label = " / ".join(_size(s) for s in sizes)
    ratio = median(ratios)
    return [
        Row(
            f"5 GET accounts p50, {label} (ms)",
            " / ".join(fmt(median(p50[s]) * ms) for s in sizes),
            "-",
            ratio,
            "<= 2",
            ratio <= 2,
            f"ratio = {_size(sizes[-1])} / {_size(sizes[0])}; one user's page of 20, "
            "external_user_id filter, no credentials",
        ),
        Row("5 connect tokens created /s", fmt(median(rates)), "-", None, "-", None),
    ]


def _size(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)
