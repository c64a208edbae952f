"""Routing: dispatches classified demands to departments and runs the task life cycle."""
