"""Benchmarks: each runs with one command and compares against named peers in the same run."""
