"""Liandong's four services, the runtime they share and the `liandong` command."""
