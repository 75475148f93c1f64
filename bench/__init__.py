"""Benchmarks: throughput and latency figures of the engine on the embedded stack."""
