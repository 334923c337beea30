"""Drift of a live bundle (issue 29): re-runs of its harness compared case by case with the run that admitted it,
the owner's periodic reviews of the outcome metric, and the schedules `status --check` holds them to."""
