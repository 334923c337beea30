"""Reading what a user or a shared folder hands us without hanging, exhausting memory or following a swapped link:
regular files opened once and checked through their descriptor, deadlines for whole operations, terminal-safe text."""
