"""Attacks a curious student (or a school admin) would try, each against the real thing."""
