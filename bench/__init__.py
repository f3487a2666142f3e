"""Benchmarks: each prints ratios measured in one run; results live in docs/benchmarks.md."""
