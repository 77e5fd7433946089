"""Support code of the test suite and the benchmarks: test servers, diffusers references, LoRA writers."""
