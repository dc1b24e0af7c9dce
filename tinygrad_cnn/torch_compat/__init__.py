"""PyTorch's extra names, one layer on top of the core: the top-level constructors (`tg.tensor`,
`tg.zeros`, `tg.randn`, ...) and the dtype names (`tg.float32`, `tg.long`, ...). The package
re-exports them (tinygrad_cnn/__init__.py), so `import tinygrad_cnn as torch` reads as PyTorch.
Nothing below this layer imports it."""
