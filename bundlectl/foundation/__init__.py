"""Foundations every layer may use: time, durations, safe YAML and text, names, the request stamp and outcome names."""
