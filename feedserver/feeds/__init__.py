"""feedserver.feeds."""
