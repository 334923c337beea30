#!/usr/bin/env bash
# The README's first command runs this: the main job on the embedded git registry and the example
# bundles. It uses a throwaway dedicated registry, so your own repository is never touched.
set -euo pipefail
cd "$(dirname "$0")/.."
export BUNDLECTL_REGISTRY="${BUNDLECTL_REGISTRY:-$(mktemp -d)/registry.git}"
export BUNDLECTL_ACTOR="${BUNDLECTL_ACTOR:-demo@example.com}"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

echo "bundlectl demo — registry: $BUNDLECTL_REGISTRY"
step bundlectl init
step bundlectl validate bundles/support-triage-v1 bundles/support-triage-v2
step bundlectl register bundles/support-triage-v1 --reason "first release"
step bundlectl register bundles/support-triage-v2 --reason "gpt-4o-2024-11-20, confidence field, refund tool"
step bundlectl register bundles/support-triage-v2
step bundlectl list
step bundlectl show support-triage@2026.11.22-1
step bundlectl diff support-triage@2026.11.01-1 support-triage@2026.11.22-1
echo
echo "done. Try: bundlectl diff support-triage@2026.11.01-1 support-triage@2026.11.22-1 --component tools --json"
