"""bundlectl.openfeature: the in-process runtime as an OpenFeature provider (needs openfeature-sdk).

from openfeature import api
from bundlectl.openfeature import BundleProvider
from bundlectl.runtime import Runtime

api.set_provider_and_wait(BundleProvider(Runtime("support-triage", "production", cache_dir="/var/cache/bundlectl")))
"""

from bundlectl.serve.provider import BundleProvider

__all__ = ["BundleProvider"]
