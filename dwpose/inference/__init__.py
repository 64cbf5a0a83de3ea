"""dwpose.inference."""
