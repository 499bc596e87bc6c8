"""The central gradebook: the grading queue and its workers, manual grades, late policy,
feedback, exports and similarity.
"""
