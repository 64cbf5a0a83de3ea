"""dwpose.distiller."""
