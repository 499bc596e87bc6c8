"""Competitions (活动与赛事): a hidden test set, entries, leaderboards and certificates."""
