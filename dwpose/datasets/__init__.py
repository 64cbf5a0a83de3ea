"""dwpose.datasets."""
