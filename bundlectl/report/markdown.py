"""The report as GitHub-flavoured Markdown for a pull request: verdict, changes and gate in full, the rest in
`<details>` blocks, the whole under GitHub's comment limit. Text from bundles and reports is escaped."""

from __future__ import annotations

import html
import re

from bundlectl.report.formatting import ms, short, usd, value
from bundlectl.report.margins import describe_margin
from bundlectl.report.model import ReleaseReport

LIMIT = 65_536  # GitHub's maximum comment body, in characters
DIFF_MAX = 6_000  # characters of one file's diff shown; the HTML report has it whole
IDS_MAX = 200  # case ids listed per group
MARKER = "<!-- bundlectl-report -->"  # finds the sticky comment to update
_INLINE = str.maketrans(
    {
        "|": "&#124;",
        "*": "&#42;",
        "_": "&#95;",
        "`": "&#96;",
        "[": "&#91;",
        "]": "&#93;",
        "\\": "&#92;",
        "@": "&#64;",
        "#": "&#35;",
        "~": "&#126;",
        "\n": " ",
        "\r": " ",
    }
)


def text(data: object) -> str:
    """Any value as inert Markdown: no HTML, no links, no emphasis, no @-mentions, no table breaks."""
    return html.escape(value(data), quote=False).translate(_INLINE)


def fenced(body: str, language: str = "") -> str:
    """A code block whose fence is longer than any backtick run in `body`, so the body cannot end it."""
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{body.rstrip()}\n{fence}"


def _table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _details(summary: str, body: str) -> str:
    return f"<details><summary>{summary}</summary>\n\n{body}\n\n</details>"


def _head(r: ReleaseReport) -> str:
    gate = r.verdict.gate
    mark = "✅ PASS" if r.verdict.passed else "❌ REFUSED"
    lines = [MARKER, f"## {mark}: {text(r.name)}@{text(r.version)} → {text(r.env)}", ""]
    against = f"live {text(r.name)}@{text(r.live_version)} (`{short(r.live_digest)}`)" if r.live_version else "nothing live"
    lines.append(f"Digest `{short(r.digest)}`, against {against}; as of {text(r.as_of)}.")
    if not gate.passed:
        lines += ["", "Failing checks:"] + [f"- **{text(c.name)}**: {text(c.detail)}" for c in gate.failures()]
    if r.verdict.trust_set:
        roles = "; ".join(f"{text(x.role)} {x.threshold} of {len(x.principals)}" for x in r.verdict.roles)
        signed = "; ".join(f"{text(s.record)}: {text(', '.join(s.principals) or 'unsigned')}" for s in r.verdict.signatures)
        lines += ["", f"Signers: {signed or 'none'} (thresholds: {roles})."]
    else:
        lines += ["", "_No trust set: every identity is claimed, not proven._"]
    return "\n".join(lines)


def _changes(r: ReleaseReport) -> tuple[str, list[str]]:
    changes = r.changes
    if changes is None:
        return "### What changed\n\nNothing else is live to compare with.", []
    if not changes.changed:
        return "### What changed\n\nNo component changed.", []
    lines = ["### What changed", ""]
    model = changes.components.get("model")
    snapshot = next((f for f in model.fields if f.path == "snapshot"), None) if model else None
    if snapshot is not None:
        lines += [f"> **Model snapshot changes**: {text(snapshot.old)} → {text(snapshot.new)}", ""]
    lines.append(
        _table(
            ["component", "old", "new", ""],
            [
                [k, f"`{short(c.old_digest)}`", f"`{short(c.new_digest)}`", "**breaking**" if c.details.get("breaking") else ""]
                for k, c in ((k, changes.components[k]) for k in changes.changed)
            ],
        )
    )
    extra = []
    for kind in changes.changed:
        component = changes.components[kind]
        items = [f"- `{text(f.path)}`: {text(f.old)} → {text(f.new)}" for f in component.fields]
        items += [
            f"- {'**breaking** ' if s.get('breaking') else ''}{text(s.get('change'))} at `{text(s.get('path'))}`"
            for s in component.details.get("schema_changes", [])
        ]
        items += [f"- tool removed: {text(t)} (**breaking**)" for t in component.details.get("tools_removed", [])]
        items += [f"- tool added: {text(t)}" for t in component.details.get("tools_added", [])]
        items += [
            f"- tool {text(t['name'])}: " + "; ".join(text(c.get("change")) for c in t["changes"]) for t in component.details.get("tools_changed", [])
        ]
        items += [
            f"- {text(v.get('path'))}: {text(v.get('direction'))} ({text(v.get('old'))} → {text(v.get('new'))})"
            for v in component.details.get("values", [])
        ]
        body = "\n".join(items)
        for path, diff in sorted(component.text_diffs.items()):
            shown = diff if len(diff) <= DIFF_MAX else diff[:DIFF_MAX] + f"\n… {len(diff) - DIFF_MAX} more characters (see the HTML report)\n"
            body += f"\n\n{text(path)}\n\n{fenced(shown, 'diff')}"
        if body.strip():
            extra.append(_details(f"{kind}{' (breaking)' if component.details.get('breaking') else ''}", body.strip()))
    return "\n".join(lines), extra


def _gate(r: ReleaseReport) -> str:
    rows = [
        [f"`{text(c.name)}`", "✅" if c.passed else "❌", text(c.value), text(c.threshold), text(describe_margin(c)), text(c.detail)]
        for c in r.verdict.gate.checks
    ]
    return "### Gate\n\n" + _table(["check", "", "value", "threshold", "margin", "detail"], rows)


def _cases(r: ReleaseReport) -> tuple[str, list[str]]:
    if r.cases is None:
        return f"### Case by case against live\n\n{text(r.cases_note)}", []
    rows = [
        [
            text(s.slice),
            str(s.paired),
            f"{s.live_passed}/{s.paired}",
            f"{s.candidate_passed}/{s.paired}",
            str(len(s.regressed)),
            str(len(s.fixed)),
            str(len(s.still_failing)),
            f"{s.p_value:.3g}",
            text(s.reading),
        ]
        for s in r.cases.slices
    ]
    table = _table(["slice", "paired", "live", "candidate", "regressed", "fixed", "still failing", "McNemar p", "reading"], rows)
    extra = []
    every = r.cases.slices[0]
    for title, ids in (("regressed", every.regressed), ("fixed", every.fixed), ("still failing", every.still_failing)):
        if ids:
            listed = "\n".join(f"- {text(i)}" for i in ids[:IDS_MAX])
            more = f"\n- … and {len(ids) - IDS_MAX} more" if len(ids) > IDS_MAX else ""
            extra.append(_details(f"{len(ids)} {title}", listed + more))
    return f"### Case by case against live\n\n{text(r.cases_note)}\n\n{table}", extra


def _operations(r: ReleaseReport) -> str:
    ops = r.operations
    rows = [
        [
            text(m.version),
            ms(m.latency_p50_ms),
            ms(m.latency_p95_ms),
            usd(m.cost_per_task_usd),
            usd(ops.daily_cost(m)),
            usd(ops.daily_cost(m, ops.multiplier)),
        ]
        for m in (ops.candidate, ops.live)
        if m
    ]
    body = _table(["bundle", "p50", "p95", "cost/task", "per day", f"per day at {ops.multiplier:g}×"], rows)
    return _details("Operations", body) + "\n\n" + _details("Rollback readiness", text(r.rollback.note))


def _canary(r: ReleaseReport) -> str:
    canary = r.canary
    if canary is None:
        return ""
    lines = [
        f"{text(canary.version)} at {canary.percent}% ({'running' if canary.running else 'ended'}), steps {' → '.join(map(str, canary.steps))}",
        "",
    ]
    rows = []
    for point in canary.points:
        for metric in point.metrics:
            interval = metric.get("interval")
            rows.append(
                [text(point.label), f"{point.percent}%", text(point.decision), text(metric.get("name")), text(interval), text(metric.get("verdict"))]
            )
    lines.append(
        _table(["judgement", "share", "decision", "metric", "interval (candidate − live)", "verdict"], rows) if rows else "No guard decision yet."
    )
    return _details("Canary", "\n".join(lines))


def _rest(r: ReleaseReport) -> list[str]:
    evidence = _table(
        ["seq", "kind", "tool", "provenance", "run at", "age", "fresh"],
        [
            [
                str(e.row.seq),
                text(e.row.kind),
                text(e.row.source),
                text(e.row.provenance),
                text(e.row.run_at),
                text(e.age),
                "–" if e.fresh is None else "yes" if e.fresh else "**stale**",
            ]
            for e in r.evidence
        ],
    )
    timeline = _table(
        ["time", "env", "action", "from → to", "by"],
        [
            [
                text(t.time),
                text(t.env),
                text(t.action + (f" {t.percent}%" if t.percent is not None else "")),
                f"{text(t.from_version or '–')} → {text(t.to_version or '–')}",
                text(t.actor),
            ]
            for t in r.timeline[:50]
        ],
    )
    return [_details("Evidence", evidence), _details("Timeline", timeline)]


def render_markdown(report: ReleaseReport) -> str:
    """Verdict, changes, gate and cases always; each details block in its place as long as the whole stays under LIMIT
    (those nearest the verdict first)."""
    changes, change_details = _changes(report)
    cases, case_details = _cases(report)
    footer = "\n\n<sub>bundlectl report; the HTML report (`bundlectl report --format html`) has everything.</sub>\n"
    essential = [_head(report), changes, _gate(report), cases]
    # (place in the document, block): places follow the document; the loop below admits details in this order
    optional = (
        [(1, block) for block in change_details]
        + [(3, block) for block in case_details]
        + [(4, _operations(report)), (4, _canary(report)), *((4, block) for block in _rest(report))]
    )
    size = sum(len(block) + 2 for block in essential) + len(footer) + 100
    chosen: list[list[str]] = [[block] for block in essential] + [[]]
    left_out = 0
    for place, block in optional:
        if not block:
            continue
        if size + len(block) + 2 < LIMIT:
            chosen[place].append(block)
            size += len(block) + 2
        else:
            left_out += 1
    if left_out:
        chosen[4].append(f"_{left_out} detail section(s) left out to stay under GitHub's comment limit._")
    body = "\n\n".join(block for place in chosen for block in place)
    return body[: LIMIT - len(footer)] + footer
