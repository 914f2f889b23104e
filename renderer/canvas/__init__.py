"""The node canvas: a QGraphicsScene mirroring an editor document, its items and view.

``layout`` is pure Python (no Qt) so the model can place nodes without a GUI; the
other modules import Qt, so import them by name, not from this package.
"""
