"""`python -m bundlectl`."""

from bundlectl.cli import main

main()
