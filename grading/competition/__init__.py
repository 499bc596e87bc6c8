"""Competitions' scoring: predictions against a hidden answer key, and a model notebook run
in a sandbox to make its predictions.

The two are kept apart on purpose: the student's notebook runs in the sandbox with the
hidden test set's features only, and the labels are compared with its predictions here,
outside, in the process that holds the answer key. No code of a student ever runs where
the labels are, so no notebook can print, copy or change them.
"""
