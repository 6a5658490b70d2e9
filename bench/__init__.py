"""The project's benchmark (`make bench`, `python -m bench.run`): see bench/README.md.

`bench.run` orchestrates and reports; each measured job runs in its own subprocess (`bench.worker`) so that its
wall time and peak RSS are its own.
"""
