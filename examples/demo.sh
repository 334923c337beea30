#!/usr/bin/env bash
# The README's first command runs this: the main job on the embedded git registry and the example
# bundles, from registration to production. It uses a throwaway dedicated registry, so your own
# repository is never touched. Evidence comes from real promptfoo runs of each bundle's own suite.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$(mktemp -d)
export BUNDLECTL_REGISTRY="${BUNDLECTL_REGISTRY:-$WORK/registry.git}"
export BUNDLECTL_ACTOR="${BUNDLECTL_ACTOR:-alice@example.com}"
V1=support-triage@2026.11.01-1
V2=support-triage@2026.11.22-1
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
refused() { printf '\n\033[1m$ %s\033[0m   # expected to be refused\n' "$*"; if "$@"; then echo "demo: expected a refusal" >&2; exit 1; fi; }

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
PF_DIR="${BUNDLECTL_PROMPTFOO_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/bundlectl/promptfoo-0.115.0}"
PROMPTFOO="$PF_DIR/node_modules/.bin/promptfoo"
if [ ! -f "$PF_DIR/node_modules/better-sqlite3/build/Release/better_sqlite3.node" ]; then
  if ! command -v npm >/dev/null; then
    echo; echo "demo: npm is not installed, so promptfoo cannot run here; stopping before the evidence walk."; exit 0
  fi
  echo; echo "installing promptfoo 0.115.0 into $PF_DIR (once; about two minutes)…"
  mkdir -p "$PF_DIR"
  (cd "$PF_DIR" && npm install --no-audit --no-fund --ignore-scripts --loglevel=error promptfoo@0.115.0 >/dev/null \
     && cd node_modules/better-sqlite3 && npx --yes node-gyp rebuild --release >/dev/null 2>&1)
fi
run_suite() {  # run a bundle's own promptfoo suite; exit 100 only means some cases failed
  (cd "bundles/$1" && PROMPTFOO_DISABLE_TELEMETRY=1 PROMPTFOO_DISABLE_UPDATE=1 PROMPTFOO_CONFIG_DIR="$WORK/promptfoo" \
     "$PROMPTFOO" eval -c evals/promptfooconfig.yaml -o "$WORK/$1.json" --no-cache --no-progress-bar >/dev/null 2>&1) || [ $? -eq 100 ]
  rm -f "bundles/$1/promptfoo-errors.log"
}
printf '\n\033[1m$ promptfoo eval (each bundle'"'"'s own suite, offline stand-in model)\033[0m\n'
run_suite support-triage-v1
run_suite support-triage-v2
echo "wrote $WORK/support-triage-v1.json and $WORK/support-triage-v2.json"

step bundlectl evidence add $V1 "$WORK/support-triage-v1.json"
refused bundlectl evidence add $V1 "$WORK/support-triage-v2.json"
step bundlectl evidence add $V2 "$WORK/support-triage-v2.json"
step bundlectl evidence list $V2

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
step bundlectl export support-triage@staging "$WORK/rolled-back"
(cd "$WORK/rolled-back" && PROMPTFOO_DISABLE_TELEMETRY=1 PROMPTFOO_DISABLE_UPDATE=1 PROMPTFOO_CONFIG_DIR="$WORK/promptfoo" \
   "$PROMPTFOO" eval -c evals/promptfooconfig.yaml -o "$WORK/rolled-back.json" --no-cache --no-progress-bar >/dev/null 2>&1) || [ $? -eq 100 ]
printf '\n\033[1m$ promptfoo eval (the rolled-back bundle, exported)\033[0m\nwrote %s\n' "$WORK/rolled-back.json"
step bundlectl evidence add support-triage@staging "$WORK/rolled-back.json"
step bundlectl status --check
step bundlectl show support-triage@staging
step bundlectl history support-triage --env staging

# --- serving and auditing -------------------------------------------------------------------------
step python examples/serve.py --env production --requests 3 --otlp "$WORK/traces.jsonl" --request-log "$WORK/requests.jsonl"
REQUEST=$(sed -n 2p "$WORK/requests.jsonl" | python -c "import json,sys; print(json.load(sys.stdin)['request.id'])")
step bundlectl audit --request-id "$REQUEST" --log "$WORK/traces.jsonl"
step bundlectl audit support-triage --at "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --env staging
step bundlectl verify
echo
echo "done. Try: bundlectl diff $V1 $V2 --component tools --json"
