"""One module per group of ``zoo`` commands, each command's options beside its handler.

Every module has ``add(sub, common)``: it adds its sub-parsers to ``sub`` and sets ``func`` to
the handler. ``common`` holds parent parsers shared by several commands (``--data-dir``).
"""
