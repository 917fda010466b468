"""PMML documents: hardened XML reading and the typed document model (private package)."""
