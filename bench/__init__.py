"""`make bench`: the project's benchmarks (see docs/benchmarks.md)."""
