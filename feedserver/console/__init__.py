"""feedserver.console."""
