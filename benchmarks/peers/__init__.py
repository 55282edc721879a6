"""Helpers and peer programs for the real-socket benchmarks (figures 5-8).

``_proc`` starts and watches subprocesses (CPU from /proc, RSS, JSON lines on stdout);
``qqgate_sessions.py`` and ``botpy_sessions.py`` hold N gateway sessions in one process.
"""
