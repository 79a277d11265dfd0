"""feedserver.alerts."""
