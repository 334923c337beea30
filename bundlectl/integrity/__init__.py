"""What a signature alone does not prove: which registry a record belongs to, what tool ran a report, and when."""
