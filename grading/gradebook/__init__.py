"""The central gradebook: grading queue and workers, manual grades, late policy, feedback, exports, similarity."""
