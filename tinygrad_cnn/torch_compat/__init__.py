"""PyTorch's extra names, one layer on top of the core: the top-level constructors (`tg.tensor`,
`tg.zeros`, `tg.randn`, ...: factories.py), the dtype names (`tg.float32`, `tg.long`, ...:
dtypes.py), PyTorch's signatures with `out=` for `tg.add`, `tg.matmul`, ... (functions.py) and
the device switches (`tg.accelerator`, `tg.set_default_device`: devices.py). The package
re-exports them (tinygrad_cnn/__init__.py), so `import tinygrad_cnn as torch` reads as PyTorch.
Nothing below this layer imports it."""
