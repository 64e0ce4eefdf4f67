"""Helpers for testing code that uses cacofonisk: fake Asterisk servers,
builders and strategies. Nothing here is imported by the library itself."""
