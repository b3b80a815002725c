"""`make bench`: the project's benchmarks (see README, Performance)."""
