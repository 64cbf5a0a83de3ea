"""Model export: ``dwpose export onnx CONFIG CHECKPOINT OUT.onnx`` (see ``dwpose.export.onnx``)."""
