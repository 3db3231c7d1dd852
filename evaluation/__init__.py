"""Judging the common picture against truth: scoring, offline replay, synthetic workloads."""
