"""Reliability harnesses (fuzzing, load, crashes) run against the real parts: importable
without pytest, so the benchmarks can print their figures too."""
