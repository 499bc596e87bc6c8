"""Autograding through nbgrader's own preprocessors, one notebook per sandbox."""
