"""Reading component files as data: JSON and YAML documents, tool manifests, promptfoo suites."""
