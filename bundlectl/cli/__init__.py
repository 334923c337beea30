"""The `bundlectl` command: parses arguments and prints results; all rules live in the library."""

from bundlectl.cli.main import main

__all__ = ["main"]
