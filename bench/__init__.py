"""Benchmarks of connect-mcp (issue 9): `python -m bench` prints one table.

Every comparison is a ratio of two things measured in the same run, interleaved, because the
machines this runs on are shared and absolute times drift. Each figure is the median over
repeated runs. See the README section "Benchmarks" for what each figure means.
"""
