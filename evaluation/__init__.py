"""Judging the common picture against truth: scoring, truth matching, offline replay,
synthetic workloads."""
