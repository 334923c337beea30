"""bundlectl: version, diff, gate, promote and roll back release bundles of AI features."""

__version__ = "0.1.0"
