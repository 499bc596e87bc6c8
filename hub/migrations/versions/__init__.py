"""Revisions of the organisation tables, oldest first."""
