"""Model packages (safetensors + JSON), ONNX export and runtime, warm starts, devices."""
