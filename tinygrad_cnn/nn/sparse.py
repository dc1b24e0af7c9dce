"""Embedding: a table of vectors looked up by integer index (PyTorch's nn.Embedding)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from ..ops._args import as_count
from ..tensor import Tensor
from . import init
from .module import Module, Parameter


class Embedding(Module):
    """weight (num_embeddings, embedding_dim), from N(0, 1) as PyTorch's; `padding_idx`'s row
    starts at zero and gets no gradient."""

    def __init__(self, num_embeddings: int, embedding_dim: int,
                 padding_idx: int | None = None) -> None:
        super().__init__()
        self.num_embeddings = as_count(num_embeddings, "Embedding: num_embeddings")
        self.embedding_dim = as_count(embedding_dim, "Embedding: embedding_dim")
        if padding_idx is not None:
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise ValueError(f"Embedding: padding_idx {padding_idx} must be within "
                                 f"num_embeddings {self.num_embeddings}")
            padding_idx %= self.num_embeddings
        self.padding_idx = padding_idx
        self.weight = Parameter(np.zeros((self.num_embeddings, self.embedding_dim), np.float32))
        init.normal_(self.weight)
        if padding_idx is not None:
            self.weight.data[padding_idx] = 0

    def forward(self, index: Any) -> Tensor:
        return ops.embedding(index, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        return text + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")
