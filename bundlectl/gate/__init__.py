"""The gate: check by check, whether a bundle may go live in an environment, and why."""
