"""`bundlectl doctor`: what this machine has for bundlectl, and what it lacks, each with the fix."""
