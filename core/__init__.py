"""A neural network trained from raw tensors: forward, loss, backward, optimizers, data, training loop.

Each module is small and readable on its own; import the one you need (for example `from core import network`).
"""
