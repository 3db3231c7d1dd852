"""Benchmarks of trilink: broker baseline, pipeline latency, throughput, memory, simulation
speed, threat assessment, record signing, the bridge with and without verification, and
the engine's cost per warning against missiles in flight.

Run with ``python -m bench.run --profile full|quick|tiny``; results go to
``bench/results.json`` and ``BENCHMARKS.md``.
"""
