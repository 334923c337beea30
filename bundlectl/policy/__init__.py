"""The gate policy: per environment, which evidence is required, how fresh, and which thresholds."""
