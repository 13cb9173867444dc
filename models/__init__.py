"""The shipped model directories (package data, no code): each holds
weights.safetensors, model.json, the gate and a sha256 manifest. Found with
importlib.resources through core.package_data."""
