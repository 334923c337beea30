"""Commands that decide what is live: evidence, policy, approve, gate, promote, status, history, verify."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from bundlectl.cli.context import actor_for, storage_for
from bundlectl.cli.main import json_option, registry_option, writer_options
from bundlectl.cli.output import emit_json, ok, short, table, warn


def _bundle(ref: str, storage: Any) -> Any:
    from bundlectl.refs import resolve_registered

    return resolve_registered(ref, Path.cwd(), storage)


@click.group()
def evidence() -> None:
    """Reports bound to a bundle digest: eval runs, load tests, cost measurements, rehearsals."""


@evidence.command("add")
@click.argument("ref")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--kind", type=click.Choice(["eval", "load", "cost", "rehearsal"]), default=None, help="Default: what the report is.")
@click.option("--format", "fmt", type=click.Choice(["auto", "promptfoo", "junit", "native"]), default="auto", show_default=True)
@registry_option
@click.option("--actor", default=None, help="Acting identity (default: BUNDLECTL_ACTOR, then git user.email).")
@click.option("--reason", default=None, help="Why; recorded in the event log.")
@json_option
def evidence_add(ref: str, file: str, kind: str | None, fmt: str, registry: str | None, actor: str | None,
                 reason: str | None, as_json: bool) -> None:
    """Bind a report (promptfoo results.json, JUnit XML, native JSON) to the bundle REF."""
    from bundlectl.evidence.store import add_evidence
    from bundlectl.textfile import read_input

    storage = storage_for(registry)
    bundle = _bundle(ref, storage)
    data = read_input(Path(file))
    result = add_evidence(storage, bundle, data, file, kind, fmt, actor_for(actor), reason)
    if as_json:
        emit_json({"name": bundle.name, "version": bundle.version, "digest": bundle.digest, "kind": result.kind,
                   "source": result.source, "run_at": result.run_at, "figures": result.figures,
                   "created": result.created, "seq": result.seq})
        return
    f = result.figures
    summary = f", {f['passed']}/{f['cases']} passed ({f['pass_rate']:.1%})" if "cases" in f else ""
    verb = "bound" if result.created else "already bound (nothing to do):"
    ok(f"{verb} {result.kind} evidence ({result.source}, run {result.run_at}{summary}) to {bundle.name}@{bundle.version} {short(bundle.digest)}")


@evidence.command("list")
@click.argument("ref")
@click.option("--env", default=None, help="Judge freshness by the gates of this environment (default: the strictest max_age per kind).")
@registry_option
@json_option
def evidence_list(ref: str, env: str | None, registry: str | None, as_json: bool) -> None:
    """Evidence for REF: kind, source, run time, age, key figures, fresh or stale."""
    from bundlectl.clock import now_utc
    from bundlectl.evidence.listing import list_evidence
    from bundlectl.registry.fresh import fresh_index

    storage = storage_for(registry)
    bundle = _bundle(ref, storage)
    listing = list_evidence(fresh_index(storage), bundle, env, now_utc())
    rows = [e.to_json() for e in listing.evidence]
    if as_json:
        emit_json({"name": bundle.name, "version": bundle.version, "digest": bundle.digest, "max_age": listing.eval_max_age,
                   "evidence": rows})
        return
    if not rows:
        click.echo(f"no evidence for {bundle.name}@{bundle.version}; add some with `bundlectl evidence add`")
        return
    table(["kind", "source", "run at", "age", "figures", "fresh"],
          [[r["kind"], r["source"], r["run_at"], r["age"], _figures(r["figures"]),
            "—" if r["fresh"] is None else ("fresh" if r["fresh"] else click.style("stale", fg="red"))] for r in rows])


def _figures(f: dict) -> str:
    parts = []
    if "cases" in f:
        parts.append(f"{f['passed']}/{f['cases']} ({f['pass_rate']:.1%})")
        parts += [f"{n} {s['pass_rate']:.0%}" for n, s in f.get("slices", {}).items() if len(f.get("slices", {})) > 1]
    if "latency_p95_ms" in f:
        parts.append(f"p95 {f['latency_p95_ms']:g} ms")
    if "cost_per_task_usd" in f:
        parts.append(f"${f['cost_per_task_usd']:g}/task")
    return ", ".join(parts) or "—"


@click.group()
def policy() -> None:
    """The gate policy: which evidence each environment requires."""


@policy.command("set")
@click.argument("file", type=click.Path(dir_okay=False))
@registry_option
@writer_options
def policy_set(file: str, registry: str | None, actor: str | None, reason: str | None, dry_run: bool) -> None:
    """Store a new gate policy (a logged, versioned event)."""
    from bundlectl.promotion import set_policy
    from bundlectl.textfile import read_input

    data = read_input(Path(file))
    result = set_policy(storage_for(registry), data, file, actor_for(actor), reason, dry_run)
    if dry_run:
        ok(f"{file} is a valid policy ({', '.join(result.policy['environments'])}); dry run: nothing stored")
    elif result.created:
        ok(f"policy {short(result.digest)} is now in force (event {result.seq})")
    else:
        ok("this policy is already in force; nothing to do")


@policy.command("show")
@registry_option
@json_option
def policy_show(registry: str | None, as_json: bool) -> None:
    """Print the policy in force."""
    from bundlectl.registry.fresh import fresh_index

    document, seq = fresh_index(storage_for(registry)).policy()
    if document is None:
        from bundlectl.errors import NotFound

        raise NotFound("no gate policy is in force", "store one with `bundlectl policy set FILE`")
    if as_json:
        emit_json({"seq": seq, "policy": document})
        return
    import yaml

    click.echo(f"# policy in force since event {seq}")
    click.echo(yaml.safe_dump(_without_empty(document), sort_keys=False, default_flow_style=None, width=100), nl=False)


def _without_empty(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_empty(v) for k, v in value.items() if v not in (None, {}, [], False)}
    return value


@click.command()
@click.argument("ref")
@click.option("--env", required=True, help="Environment the approval is for.")
@registry_option
@click.option("--actor", default=None, help="Acting identity (default: BUNDLECTL_ACTOR, then git user.email).")
@click.option("--reason", default=None, help="Why; recorded in the event log.")
def approve(ref: str, env: str, registry: str | None, actor: str | None, reason: str | None) -> None:
    """Record your approval of REF for ENV."""
    from bundlectl.promotion import approve as record_approval

    storage = storage_for(registry)
    bundle = _bundle(ref, storage)
    who = actor_for(actor)
    seq = record_approval(storage, bundle, env, who, reason)
    if seq is None:
        ok(f"{who} had already approved {bundle.name}@{bundle.version} for {env}")
    else:
        ok(f"{who} approved {bundle.name}@{bundle.version} ({short(bundle.digest)}) for {env}")


@click.command()
@click.argument("ref")
@click.option("--env", required=True)
@registry_option
@click.option("--actor", default=None, help="Who would promote (the promoter's own approval does not count).")
@json_option
def gate(ref: str, env: str, registry: str | None, actor: str | None, as_json: bool) -> None:
    """Explain, check by check, whether REF may be promoted to ENV; exit 1 if not."""
    from bundlectl.promotion import check_gate

    storage = storage_for(registry)
    result = check_gate(storage, _bundle(ref, storage), env, actor_for(actor))
    if as_json:
        emit_json(result.to_json())
    else:
        print_gate(result)
    if not result.passed:
        raise SystemExit(1)


def print_gate(result: Any) -> None:
    verdict = click.style("PASS", fg="green", bold=True) if result.passed else click.style("FAIL", fg="red", bold=True)
    click.echo(f"gate {result.name}@{result.version} → {result.env}: {verdict}")
    table(["", "check", "value", "threshold", "why"],
          [[click.style("✓", fg="green") if c.passed else click.style("✗", fg="red"), c.name, _show(c.value),
            _show(c.threshold), c.detail] for c in result.checks])


def _show(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return str(value)


@click.command()
@click.argument("ref")
@click.option("--env", required=True)
@registry_option
@writer_options
@json_option
def promote(ref: str, env: str, registry: str | None, actor: str | None, reason: str | None, dry_run: bool, as_json: bool) -> None:
    """Move ENV to REF, only if the gate passes."""
    from bundlectl.promotion import GateRefused
    from bundlectl.promotion import promote as do_promote

    storage = storage_for(registry)
    bundle = _bundle(ref, storage)
    try:
        result = do_promote(storage, bundle, env, actor_for(actor), reason, dry_run)
    except GateRefused as refused:
        if as_json:
            emit_json({"promoted": False, "gate": refused.result.to_json()})
        else:
            print_gate(refused.result)
        raise
    print_move(result, "promoted", as_json)


def print_move(result: Any, verb: str, as_json: bool) -> None:
    before = result.from_pointer
    if as_json:
        emit_json({"name": result.name, "env": result.env, "changed": result.seq is not None, "dry_run": result.dry_run,
                   "from_digest": before.digest if before else None, "to_digest": result.to.digest,
                   "version": result.to.version, "pointer_version": result.pointer_version, "seq": result.seq,
                   "gate": result.gate.to_json() if result.gate else None})
        return
    if result.already_live:
        ok(f"{result.name}@{result.to.version} is already live in {result.env}; nothing to do")
        return
    if result.gate is not None:
        print_gate(result.gate)
    origin = f"{before.version} ({short(before.digest)})" if before else "nothing"
    target = f"{result.to.version} ({short(result.to.digest)})"
    if result.dry_run:
        ok(f"would move {result.env} of {result.name}: {origin} → {target} (dry run: nothing changed)")
    else:
        ok(f"{verb} {result.name} in {result.env}: {origin} → {target}, pointer version {result.pointer_version}")


@click.command()
@click.argument("name", required=False)
@click.option("--check", is_flag=True, help="Exit 1 when any live bundle's evidence is stale or failing, or it is unverified.")
@registry_option
@json_option
def status(name: str | None, check: bool, registry: str | None, as_json: bool) -> None:
    """What is live in each environment, since when, by whom, and how fresh its evidence is."""
    from bundlectl.clock import now_utc
    from bundlectl.registry.fresh import fresh_index
    from bundlectl.status import live_status

    rows = live_status(fresh_index(storage_for(registry)), now_utc(), name)
    if as_json:
        emit_json({"environments": [r.to_json() for r in rows]})
    elif not rows:
        click.echo("nothing is live yet; promote a bundle with `bundlectl promote REF --env ENV`")
    else:
        table(["name", "env", "version", "digest", "ptr", "since", "by", "evidence"],
              [[r.name, r.env, r.version, short(r.digest), str(r.pointer_version), r.since, r.by,
                "ok" if r.healthy else click.style("; ".join(r.problems), fg="red")] for r in rows])
    if check:
        failing = [r for r in rows if not r.healthy]
        for row in failing:
            warn(f"{row.name}@{row.version} in {row.env}: {'; '.join(row.problems)}")
        if failing:
            raise SystemExit(1)


@click.command()
@click.argument("name")
@click.option("--env", required=True)
@click.option("--limit", type=click.IntRange(min=0), default=256, show_default=True, help="At most this many events; 0 for all.")
@registry_option
@json_option
def history(name: str, env: str, limit: int | None, registry: str | None, as_json: bool) -> None:
    """Promotions and rollbacks of NAME in ENV, newest first."""
    from bundlectl.registry.fresh import fresh_index
    from bundlectl.status import pointer_history

    events = pointer_history(fresh_index(storage_for(registry)), name, env, limit or None)
    if as_json:
        emit_json({"name": name, "env": env, "events": [e.to_json() for e in events]})
        return
    if not events:
        click.echo(f"{name} has never been live in {env}")
        return
    table(["seq", "time", "action", "from", "to", "by", "reason"],
          [[str(e.seq), e.time, e.action + (f" {','.join(e.components)}" if e.components else "")
            + (f" ({e.rehearsal} rehearsal)" if e.rehearsal else "") + ("" if e.verified else " (unverified)"),
            f"{e.from_version} ({short(e.from_digest)})" if e.from_digest else "—",
            f"{e.to_version} ({short(e.to_digest)})", e.actor, e.reason or ""] for e in events])


@click.command()
@registry_option
@json_option
def verify(registry: str | None, as_json: bool) -> None:
    """Re-check every digest, the log chain, and that pointers agree with the log (exit 5 if not)."""
    from bundlectl.verify import verify_registry

    report = verify_registry(storage_for(registry))
    if as_json:
        emit_json({"ok": True, "events": report.events, "bundles": report.bundles, "objects": report.objects,
                   "pointers": report.pointers})
    else:
        ok(f"registry verified: {report.events} log records chained, {report.bundles} bundles and {report.objects} "
           f"stored objects match their digests, {report.pointers} pointers agree with the log")
