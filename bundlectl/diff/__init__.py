"""Component-aware diff (README: Diff): which components changed and what that means, kind by kind."""
