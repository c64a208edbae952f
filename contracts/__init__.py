"""Liandong's shared data standard: event contracts, topic names and jurisdiction codes."""
