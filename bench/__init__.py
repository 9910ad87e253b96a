"""Benchmarks: a synthetic workspace at scale and timings of the core operations."""
