"""feedserver: missing-child alerts on public screens."""

__version__ = "0.1.0"
