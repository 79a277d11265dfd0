"""feedserver.render."""
