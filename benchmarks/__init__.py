"""Benchmarks: each module compares our call with the seed's pattern, the raw driver and the
peers in one run, prints a table and writes JSON to benchmarks/results/."""
