"""Benchmarks of trilink: broker baseline, pipeline latency, throughput, memory, simulation speed.

Run with ``python -m bench.run --profile full|quick|tiny``; results go to
``bench/results.json`` and ``BENCHMARKS.md``.
"""
