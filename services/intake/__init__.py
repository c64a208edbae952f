"""Intake: takes demands from every front end, gives the citizen a tracking id, emits them."""
