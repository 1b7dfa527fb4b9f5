"""bench/memory.py builds a full-size MNIST stand-in when the real training files are absent: it must be
what core.data reads as 60,000 training images of the right shape, not a file the loader rejects."""
from bench import memory
from datasets import mnist_files


def test_stand_in_full_mnist_loads_as_60000_training_images(mnist_dir, tmp_path):
    memory.stand_in_full_mnist(tmp_path)
    X, y = mnist_files.load_mnist_pixels("train", root=tmp_path)
    assert tuple(X.shape) == (60_000, 784) and tuple(y.shape) == (60_000,)
    X_test, y_test = mnist_files.load_mnist_pixels("test", root=tmp_path)
    assert (X[:10_000] == X_test).all() and (y[50_000:] == y_test).all()
