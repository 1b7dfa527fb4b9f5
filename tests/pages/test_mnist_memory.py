"""Server memory (issue 12): the pages that compute on MNIST's test split share one uint8 copy (7.5 MB) and make
float32 only of the rows they use; a float32 copy of all 10,000 images (31 MB) no longer stays in memory."""
import gc

import streamlit as st
import torch

import ui
from datasets import mnist_files
from labs import ch04_graph, ch10_torch_nn
from tests.apptest_utils import assert_no_exception, open_page

MNIST_PAGES = ["views/ch00_draw_digit.py", "views/ch02_shapes.py", "views/ch04_graph.py",
               "views/ch08_scratch_vs_nn.py", "views/ch10_torch_nn.py", "views/ch11_mastery.py"]


def _float_image_tensors(min_rows):
    """Every live float tensor of 784 columns with at least min_rows rows: [(shape, dtype)]."""
    found = []
    for obj in gc.get_objects():
        try:
            if (isinstance(obj, torch.Tensor) and obj.is_floating_point() and obj.dim() == 2
                    and obj.shape[1] == 784 and obj.shape[0] >= min_rows):
                found.append((tuple(obj.shape), obj.dtype))
        except (ReferenceError, RuntimeError):
            continue
    return found


def test_mnist_pages_keep_no_float_copy_of_the_test_split(mnist_dir):
    st.cache_resource.clear()          # whatever an earlier test cached in this process
    gc.collect()
    for path in MNIST_PAGES:
        at = open_page(path)
        assert_no_exception(at)
        del at
    gc.collect()
    assert _float_image_tensors(min_rows=2_500) == []   # page 0 reads 2,000 held-out digits; the split has 10,000
    X, _ = ui.mnist_split("test")
    assert X.dtype == torch.uint8 and tuple(X.shape) == (10_000, 784)


def test_a_test_batch_is_the_float_test_splits_rows(mnist_dir):
    Xf, yf = mnist_files.load_mnist("test")            # float32 in [0, 1], as the pages used before
    xb, yb = ui.mnist_test_batch(64, 7, ch10_torch_nn.pick_batch)
    xf, yf_b = ch10_torch_nn.pick_batch(Xf, yf, 64, 7)
    assert xb.dtype == torch.float32 and torch.equal(xb, xf) and torch.equal(yb, yf_b)


def test_page_4_demo_batch_is_the_same_from_uint8_pixels(mnist_dir):
    Xf, yf = mnist_files.load_mnist("test")
    X, y = ui.mnist_split("test")
    from_pixels = ch04_graph.demo_inputs((784, 128, 10), 16, 3, X, y)
    from_floats = ch04_graph.demo_inputs((784, 128, 10), 16, 3, Xf, yf)
    assert from_pixels[0].dtype == torch.float64
    assert torch.equal(from_pixels[0], from_floats[0]) and torch.equal(from_pixels[1], from_floats[1])
