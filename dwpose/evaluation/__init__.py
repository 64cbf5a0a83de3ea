"""dwpose.evaluation."""
