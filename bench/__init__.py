"""Benchmarks (not tests): each figure beside its reference, measured in the same run.

`make bench` runs `python -m bench`; see bench/RESULTS.md for the figures so far.
"""
