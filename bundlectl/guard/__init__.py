"""The outcome guard: judging a live bundle (and a canary beside it) from what its requests did.

`moments` (sufficient statistics per arm and metric), `sequential` (always-valid confidence intervals),
`srm` (sample ratio mismatch), `decision` (hold, advance, complete or rollback, with reasons), and the
sources the figures come from: `request_log` (JSON lines) and `prometheus` (its HTTP API).
"""
