"""Feedback: the callback (回访) asks the citizen to evaluate the reply, the evaluation closes the
loop, and the three rates (三率) are counted from the task topics and the evaluations."""
