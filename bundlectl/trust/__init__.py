"""Trust (DESIGN §11): SSH public keys in roles, signatures made by ssh-keygen and checked in-process."""
