"""feedserver.store."""
