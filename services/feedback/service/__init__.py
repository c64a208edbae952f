"""Feedback's use cases: callbacks and their evaluation (回访), and the league tables."""
