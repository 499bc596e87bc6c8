"""The exchange store: released versions, immutable submissions, feedback, content-addressed files."""
