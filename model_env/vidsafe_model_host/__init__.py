"""What vidsafe's python-backend models share, installed into their environment (the cpu profile's model env
and the gpu profile's Triton image): the ONNX Runtime session they open, and the host of the single-input
networks. A model folder imports it; no model folder holds code another one uses."""
