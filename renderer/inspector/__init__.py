"""The inspector: forms generated from JSON schemas, and the panel for the selected node."""
