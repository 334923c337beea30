"""One module per command, named like its `cli/` twin: the library function each command calls."""
