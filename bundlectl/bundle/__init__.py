"""A bundle: its manifest, its content checks, the frozen record, and reading and writing a bundle folder."""
