"""feedserver.ingest."""
