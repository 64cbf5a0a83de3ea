"""dwpose.models: model-side parts of training (the data preprocessor that makes SimCC labels)."""
