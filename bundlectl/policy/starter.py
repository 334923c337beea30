"""The policy `bundlectl init` writes: a seven-point production gate."""

STARTER_POLICY = """\
apiVersion: bundlectl/v1
kind: Policy
environments:
  staging:
    gates:
      eval: {min_cases: 20, min_pass_rate: 0.80, max_age: 7d}
  production:
    after: staging                 # must have been live in staging first
    production: true               # rehearsals are refused here
    gates:
      eval: {min_cases: 50, min_pass_rate: 0.92, max_age: 7d,
             provenance: run,      # only reports `bundlectl eval` ran with the declared harness count
             slices: {adversarial: {min_cases: 10, min_pass_rate: 0.90}}}
      # pin the tool that may run them (as `bundlectl evidence list --json` shows it), so a harness
      # that grades itself, or another `promptfoo` earlier on PATH, does not count:
      #   eval: {…, tools: [{executable_sha256: "sha256:…", tool_version: 0.115.0}]}
      regression: {max_drop: 0.02} # vs the bundle it replaces, per slice
      latency: {max_p95_ms: 2500}
      cost: {max_cost_per_task_usd: 0.05, volume_multiplier: 10, max_daily_usd: 2000, daily_tasks: 100000}
      rehearsal: {max_age: 30d}    # a rollback was rehearsed recently
      approvals: {min: 1, exclude_author: true}
    rollback:                      # a component rollback returns to content live here before: it needs evidence
      waive: [after, approvals]    # for its exact bundle and a rehearsed rollback, not staging or a second person
"""
