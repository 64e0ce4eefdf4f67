"""Sub-commands of the ``cacofonisk`` CLI, one module each (add_parser, run)."""
