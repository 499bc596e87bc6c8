"""The exchange store: released versions, immutable submissions, feedback.

Files live in a content-addressed store; rows in the service database.
"""
