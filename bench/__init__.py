"""The benchmark harness (`make bench`, bench/run.py) and the in-process counts (bench/counts.py)."""
