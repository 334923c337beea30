"""Evidence: reports from real eval tools, imported, bound to one bundle digest, and summarised."""
