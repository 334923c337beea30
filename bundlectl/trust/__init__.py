"""Trust (docs/design.md: Signed records): SSH public keys in roles, signatures made by ssh-keygen and checked in-process."""
