"""Feedback: the citizen evaluates the reply; the evaluation closes the loop."""
