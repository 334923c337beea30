"""bundlectl.serve: the live bundle over OpenFeature's remote evaluation protocol (OFREP), for services in any language.

`bundlectl serve --env ENV [NAME…]` follows the registry with one `Runtime` per bundle name and answers
OFREP evaluations (the flag key is the bundle name), serves the bundles' files by digest, and takes the
outcomes services record, so `bundlectl guard` judges a canary served from TypeScript, Go or Java.
"""
