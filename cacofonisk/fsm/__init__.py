"""State machines of channels and calls, defined once as tables (see engine.py)."""
