"""The bench's outputs: `results.json`, `results.md` (the table and the targets) and `results.png` (the chart)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PATH_TITLES = {
    "first": "first processing (fresh key, 1,000 exceptions)",
    "hot": "first processing (fresh key, one hot exception)",
    "replay": "replay (one key)",
    "reject": "rejection (invalid body)",
    "conflict": "409 window (key in flight)",
}
# The targets for the mock at 1 worker on both first-processing paths: × Prism per store, × bare and
# p99 where the issue sets one.
TARGET_PRISM = 2.0
TARGET_BARE = 0.3
TARGETS: dict[str, dict[str, float]] = {
    "memory": {"prism": 2.0, "bare": 0.3, "p99": 25.0},
    "sqlite": {"prism": 1.5, "p99": 25.0},
    "redis": {"prism": 1.0},
}
FIRST_PATHS = ("first", "hot")


def with_ratios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each row's req/s over the bare app's and Prism's on the same path of the same run.

    The 409 window has no counterpart outside the mock: it is compared with their first-processing path.
    """

    def rps(kind: str, path: str) -> float | None:
        return next((r["rps"] for r in rows if r["kind"] == kind and r["path"] == path and "rps" in r), None)

    out = []
    for row in rows:
        row = dict(row)
        if "rps" in row:
            other = "first" if row["path"] == "conflict" else row["path"]
            bare, prism, quiet = rps("bare", other), rps("prism", other), rps("prism-quiet", other)
            row["x_bare"] = round(row["rps"] / bare, 3) if bare else None
            row["x_prism"] = round(row["rps"] / prism, 3) if prism else None
            row["x_prism_quiet"] = round(row["rps"] / quiet, 3) if quiet else None
        out.append(row)
    return out


def markdown_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| configuration | path | req/s | × bare | × Prism | p50 ms | p99 ms | server CPU µs/req | statuses "
        "| unexpected |",
        "|---|---|--:|--:|--:|--:|--:|--:|---|--:|",
    ]
    for row in rows:
        title = PATH_TITLES[row["path"]]
        if "rps" not in row:
            lines.append(f"| {row['config']} | {title} | – | | | | | | {row['skipped']} | |")
            continue
        statuses = ", ".join(f"{k}: {v}" for k, v in row["statuses"].items())
        errors = sum(row["socket_errors"].values())
        if errors:
            statuses += f"; socket errors {row['socket_errors']}"
        flag = f"**{row['unexpected']}** ⚠" if row["unexpected"] else "0"
        lines.append(
            f"| {row['config']} | {title} | {row['rps']:,.0f} | {_ratio(row.get('x_bare'))} | "
            f"{_ratio(row.get('x_prism'))} | {row['latency_ms']['p50']:.1f} | {row['latency_ms']['p99']:.1f} | "
            f"{_cpu(row)} | {statuses} | {flag} |"
        )
    return "\n".join(lines)


def targets(rows: list[dict[str, Any]]) -> str:
    """The issue's targets, judged for each store at 1 worker on both first-processing paths."""
    lines = [
        "Targets (first processing at 1 worker, on 1,000 exceptions and on one hot exception, the request log on "
        "as by default): memory ≥ 2× Prism, ≥ 0.3× bare, p99 ≤ 25 ms; SQLite ≥ 1.5× Prism, p99 ≤ 25 ms; "
        "Redis ≥ 1× Prism; replay faster than first processing. Ratios are to Prism as run by default, in "
        "this run.",
        "",
    ]
    for row in rows:
        if row["kind"] != "mock" or row["workers"] != 1 or row["path"] not in FIRST_PATHS or "rps" not in row:
            continue
        target = TARGETS.get(row["store"], {})
        prism, bare, p99 = row.get("x_prism"), row.get("x_bare"), row["latency_ms"]["p99"]
        checks = [
            f"{_ratio(prism)} Prism"
            + (f" {_mark(prism is not None and prism >= target['prism'])}" if "prism" in target else "")
        ]
        checks.append(
            f"{_ratio(bare)} bare"
            + (f" {_mark(bare is not None and bare >= target['bare'])}" if "bare" in target else "")
        )
        checks.append(f"p99 {p99:.1f} ms" + (f" {_mark(p99 <= target['p99'])}" if "p99" in target else ""))
        replay = next((r for r in rows if r["config"] == row["config"] and r["path"] == "replay" and "rps" in r), None)
        if replay is not None and row["path"] == "first":
            checks.append(f"replay {replay['rps']:,.0f} req/s {_mark(replay['rps'] > row['rps'])}")
        lines.append(f"- {row['config']}, {PATH_TITLES[row['path']]}: {row['rps']:,.0f} req/s = " + "; ".join(checks))
    return "\n".join(lines)


def write_all(results: dict[str, Any], out: Path) -> list[Path]:
    rows = results["rows"]
    meta = results["meta"]
    json_path, md_path, png_path = out / "results.json", out / "results.md", out / "results.png"
    json_path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    load = meta["load"]
    header = [
        "# Bench results",
        "",
        f"{meta['date']} · {meta['cpus']} CPUs · Python {meta['python']} · {meta['wrk']} · "
        f"`wrk -t{load['threads']} -c{load['connections']} -d{load['seconds']}s` per path after a "
        f"{load['warmup_seconds']} s warm-up (and {load['start_warmup_seconds']} s when a server starts, Prism "
        f"{3 * load['start_warmup_seconds']} s) · {meta['exceptions']} seeded exceptions · "
        f"whole run {meta['seconds']:.0f} s · `{meta['command']}` · mock at {_code(meta)}",
        "",
        "wrk runs on the same CPUs as the server: numbers are relative to the bare app of this run. "
        "`server CPU µs/req` is the CPU time of the server's processes divided by the requests answered: it "
        "moves less than req/s when other work shares the machine. `unexpected` counts responses whose status "
        "the path should not give, plus socket errors.",
        "",
    ]
    body = [markdown_table(rows), "", targets(rows), ""]
    if results["notes"]:
        body += ["Notes:", "", *(f"- {n}" for n in results["notes"]), ""]
    md_path.write_text("\n".join(header + body), encoding="utf-8")
    try:
        title = f"callback kit bench, {meta['date'][:10]} ({meta['cpus']} CPUs, wrk on the same CPUs)"
        chart(rows, png_path, title=title)
    except ImportError:
        print("bench: no chart: matplotlib is not installed (pip install matplotlib)")
        return [json_path, md_path]
    return [json_path, md_path, png_path]


def chart(rows: list[dict[str, Any]], path: Path, *, title: str) -> None:
    """One panel per request path: req/s of each configuration, with the bare app's and the targets' lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = [p for p in PATH_TITLES if any(r["path"] == p and "rps" in r for r in rows)]
    figure, axes = plt.subplots(len(paths), 1, figsize=(9, 2.2 + 1.9 * len(paths)), squeeze=False)
    colours = {"bare": "#7f7f7f", "prism": "#9467bd", "prism-quiet": "#c5b0d5", "mock": "#1f77b4"}
    for axis, name in zip(axes[:, 0], paths, strict=True):
        measured = [r for r in rows if r["path"] == name and "rps" in r]
        labels = [r["config"] for r in measured]
        values = [r["rps"] for r in measured]
        bars = axis.barh(labels, values, color=[colours[r["kind"]] for r in measured])
        axis.invert_yaxis()
        for bar, row in zip(bars, measured, strict=True):
            note = f" {row['rps']:,.0f}" + (f"  ({row['x_bare']:.2f}× bare)" if row.get("x_bare") else "")
            if row["unexpected"]:
                note += f"  ⚠ {row['unexpected']} unexpected"
            axis.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, note, va="center", fontsize=8)
        bare = next((r["rps"] for r in rows if r["kind"] == "bare" and r["path"] == name and "rps" in r), None)
        prism = next((r["rps"] for r in rows if r["kind"] == "prism" and r["path"] == name and "rps" in r), None)
        if name in FIRST_PATHS and bare:
            axis.axvline(bare * TARGET_BARE, color="#d62728", linestyle="--", linewidth=1, label="0.3× bare")
        if name in FIRST_PATHS and prism:
            axis.axvline(prism * TARGET_PRISM, color="#ff7f0e", linestyle=":", linewidth=1.5, label="2× Prism")
            axis.axvline(prism * 1.5, color="#ffbb78", linestyle=":", linewidth=1.5, label="1.5× Prism (SQLite)")
        if name in FIRST_PATHS and (bare or prism):
            axis.legend(loc="lower right", fontsize=8)
        axis.set_title(PATH_TITLES[name], fontsize=10, loc="left")
        # A log scale: the bare app is 10 to 50 times the rest, which would leave the others as slivers.
        axis.set_xscale("log")
        axis.set_xlim(min(values) / 2, max(values) * 6)
        axis.tick_params(labelsize=8)
        axis.grid(axis="x", alpha=0.3)
    axes[-1, 0].set_xlabel("requests per second, log scale (higher is better)")
    figure.suptitle(title, fontsize=11)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _code(meta: dict[str, Any]) -> str:
    code = meta.get("code") or {}
    changes = code.get("mock_server_changes") or []
    return f"{code.get('commit', '?')}" + (f" + uncommitted changes to {', '.join(changes)}" if changes else "")


def _cpu(row: dict[str, Any]) -> str:
    value = row.get("server_cpu_us_per_request")
    return "–" if value is None else f"{value:,.0f}"


def _ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


def _mark(ok: bool) -> str:
    return "✅" if ok else "❌ (target missed)"
