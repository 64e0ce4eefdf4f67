"""Helpers for users of cacofonisk (test cases)."""
