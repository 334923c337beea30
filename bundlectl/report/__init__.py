"""The release report: one typed model collected from the registry, rendered as HTML, Markdown or JSON."""
