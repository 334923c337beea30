"""Component-aware diff (DESIGN §6): which components changed and what that means, kind by kind."""
