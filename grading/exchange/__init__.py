"""The exchange store: released versions, immutable submissions, feedback.

Files live in a content-addressed store; rows in the service database. Two rules
every reader of those rows shares live here too: which submission counts
(``counted``) and whether it is late (``deadlines``).
"""
