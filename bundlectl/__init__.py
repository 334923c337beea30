"""bundlectl: version, diff, gate, promote and roll back release bundles of AI features.

The public Python interface is `bundlectl.api` (one function per thing a user does) and, for serving code,
`bundlectl.runtime`; everything else is internal and may move between releases.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
