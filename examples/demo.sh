#!/usr/bin/env bash
# The README's first command runs this: the main job on the embedded git registry and the example
# bundles, from registration to production. Its registry is a dedicated one in .demo/ of this checkout
# (made afresh on each run, and kept afterwards so you can explore it), so your own repository is never
# touched. Evidence comes from real promptfoo runs of each bundle's own suite.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DEMO="${BUNDLECTL_DEMO_DIR:-$ROOT/.demo}"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT  # scratch files only; the registry stays in $DEMO
rm -rf "$DEMO" && mkdir -p "$DEMO"
export BUNDLECTL_REGISTRY="${BUNDLECTL_REGISTRY:-$DEMO/registry.git}"
export BUNDLECTL_ACTOR="${BUNDLECTL_ACTOR:-alice@example.com}"
V1=support-triage@2026.11.01-1
V2=support-triage@2026.11.22-1
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then BOLD=$'\033[1m' PLAIN=$'\033[0m'; else BOLD='' PLAIN=''; fi
quoted() {  # the command as you would type it: words that need quotes get them
  local word out=()
  for word in "$@"; do
    if [[ $word =~ ^[][A-Za-z0-9_./@:=,+%~^-]+$ ]]; then out+=("$word"); else out+=("'${word//\'/\'\\\'\'}'"); fi
  done
  printf '%s' "${out[*]}"
}
step() { printf '\n%s$ %s%s\n' "$BOLD" "$(quoted "$@")" "$PLAIN"; "$@"; }
fails() { note=$1; shift; printf '\n%s$ %s%s   # %s\n' "$BOLD" "$(quoted "$@")" "$PLAIN" "$note"; if "$@"; then echo "demo: expected a non-zero exit: $note" >&2; exit 1; fi; }
refused() { fails "expected to be refused" "$@"; }
rolls_back() { fails "exits 1: the guard decides to roll back" "$@"; }

echo "bundlectl demo — registry: $BUNDLECTL_REGISTRY"
step bundlectl init
step bundlectl validate bundles/support-triage-v1 bundles/support-triage-v2
step bundlectl register bundles/support-triage-v1 --reason "first release"
step bundlectl register bundles/support-triage-v2 --reason "gpt-4o-2024-11-20, confidence field, refund tool"
step bundlectl register bundles/support-triage-v2
step bundlectl list
step bundlectl show $V2
step bundlectl diff $V1 $V2

# --- evidence from real promptfoo runs ------------------------------------------------------------
if ! command -v npm >/dev/null; then
  echo; echo "demo: npm is not installed, so promptfoo cannot run here; stopping before the evidence walk."
  echo "The registry so far is kept in $DEMO/registry.git: export BUNDLECTL_REGISTRY=$(quoted "$BUNDLECTL_REGISTRY")"; exit 0
fi
echo; echo "installing promptfoo 0.115.0 once into ~/.cache/bundlectl (about two minutes the first time; log: $DEMO/install-promptfoo.log)"
PROMPTFOO="$("$ROOT/examples/install-promptfoo.sh" 2>"$DEMO/install-promptfoo.log")" \
  || { tail -20 "$DEMO/install-promptfoo.log" >&2; echo "demo: installing promptfoo failed (log: $DEMO/install-promptfoo.log)" >&2; exit 1; }
export PATH="$(dirname "$PROMPTFOO"):$PATH"  # each bundle declares its harness as `promptfoo eval …`
export PROMPTFOO_DISABLE_TELEMETRY=1 PROMPTFOO_DISABLE_UPDATE=1 PROMPTFOO_CONFIG_DIR="$WORK/promptfoo"
evaluate() {  # bundlectl runs the bundle's declared harness on its exact files; exit 100 only means some cases failed
  printf '\n%s$ bundlectl eval %s%s   # runs: promptfoo eval -c evals/promptfooconfig.yaml -o results.json --no-cache --no-progress-bar\n' "$BOLD" "$1" "$PLAIN"
  bundlectl eval "$1" | grep -E '^(✓|Results:|  Pass Rate)' || [ "${PIPESTATUS[0]}" -eq 100 ]
}
evaluate $V1
evaluate $V2
step bundlectl evidence list $V2
# a report attached by hand is checked case by case and against the bundle it ran: v2's run is not v1's
(cd bundles/support-triage-v2 && promptfoo eval -c evals/promptfooconfig.yaml -o "$WORK/v2.json" --no-cache \
   --no-progress-bar --no-table >/dev/null 2>&1) || true
rm -f bundles/support-triage-v2/promptfoo-errors.log
refused bundlectl evidence add $V1 "$WORK/v2.json"

# --- staging, then production through the full gate -----------------------------------------------
step bundlectl policy show
step bundlectl promote $V1 --env staging --reason "first release"
refused bundlectl promote $V2 --env production
step bundlectl promote $V2 --env staging --reason "new snapshot, refund tool"
step bundlectl rollback support-triage --env staging --rehearse --reason "drill before production"
step bundlectl approve $V2 --env production --actor lead@example.com --reason "reviewed the diff and the eval run"
step bundlectl gate $V2 --env production
step bundlectl promote $V2 --env production --reason "passes the production gate"
step bundlectl status

# --- rolling back one component -------------------------------------------------------------------
echo; echo "# staging reports that the tighter abstention threshold sends too many tickets to humans:"
echo "# roll back the guardrails alone, keeping the new model, prompt, schema and tools"
refused bundlectl rollback support-triage --env staging --component prompt
refused bundlectl rollback support-triage --env staging --component guardrails --dry-run
step bundlectl rollback support-triage --env staging --component guardrails --break-glass --reason "abstention too aggressive"
refused bundlectl status --check
evaluate support-triage@staging
step bundlectl status --check
step bundlectl show support-triage@staging
step bundlectl history support-triage --env staging

# --- serving and auditing -------------------------------------------------------------------------
step python examples/serve.py --env production --requests 3 --otlp "$WORK/traces.jsonl" --request-log "$WORK/requests.jsonl"
REQUEST=$(sed -n 2p "$WORK/requests.jsonl" | python -c "import json,sys; print(json.load(sys.stdin)['request.id'])")
step bundlectl audit --request-id "$REQUEST" --log "$WORK/traces.jsonl"
step bundlectl audit support-triage --at "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --env staging

# --- a canary, and the guard that rolls its regression back ---------------------------------------
echo; echo "# $V2 as a canary beside the repaired bundle in staging: half the requests, by request id;"
echo "# the example app injects a regression into the candidate (14% of tickets escalate instead of 8%)"
step bundlectl promote $V2 --env staging --canary 50 --step-time 0m --reason "canary of the new snapshot"
step bundlectl status
step python examples/serve.py --env staging --requests 4000 --quiet --seed 7 --request-log "$WORK/canary.jsonl" \
  --inject-regression escalation
rolls_back bundlectl guard support-triage --env staging --source "$WORK/canary.jsonl" --min-sample 500
rolls_back bundlectl guard support-triage --env staging --source "$WORK/canary.jsonl" --min-sample 500 --apply \
  --actor guard@example.com
step bundlectl history support-triage --env staging --limit 3
step bundlectl verify
echo
echo "done. The demo's registry is kept in $DEMO/registry.git; explore it from your shell:"
echo "  export BUNDLECTL_REGISTRY=$(quoted "$BUNDLECTL_REGISTRY")"
echo "  bundlectl diff $V1 $V2 --component tools --json"
