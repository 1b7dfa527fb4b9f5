"""Chapter 8, scratch vs torch.nn.

The comparison itself is core.train.compare_scratch_vs_torch (the same training step from scratch and with
torch.nn, weight by weight); the standalone script that reruns it with the page's settings is
exports/ch08_scratch_vs_nn.py.
"""
