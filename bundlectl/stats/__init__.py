"""Small exact statistical tests, in integers, that several features share."""
