"""Benchmarks of realmctl against the sandbox (see docs/benchmarks.md)."""
