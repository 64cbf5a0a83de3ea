"""dwpose.export."""
