"""Classification: turns demand text and location into matter, type, urgency and unit."""
