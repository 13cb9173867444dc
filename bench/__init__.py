"""Benchmarks and soak tests. Each script is self-contained and run as
``python -m bench.<name>``; results go to bench/results/."""
