"""Every page in the registry renders without an exception, and its main widget changes its output."""
import pytest

from tests.apptest_utils import assert_no_exception, open_page, page_output
from ui import registry

# page file -> how to move its main widget: (AppTest widget kind, key, new value); kind "button" clicks
MAIN_WIDGET = {
    "views/home.py": ("segmented_control", "home_weights", "Fresh"),  # the network drawn before training
    "views/class_mode.py": ("button", "cm_start", None),  # the class code, join link and QR code appear
    "views/ch00_draw_digit.py": ("segmented_control", "draw_src", "MNIST test digit"),
    "views/ch01_raw_tensors.py": ("selectbox", "tensors_init", "normal"),
    "views/ch07_mnist.py": ("slider", "mnist_epochs", 5),
    "views/ch10_torch_nn.py": ("selectbox", "tn_part", "nn.ReLU"),
    "views/ch11_mastery.py": ("slider", "ms_p", 0.8),
    "views/t0_first_network.py": ("slider", "fn_w01", -30.0),
    "views/t2_linear_regression.py": ("select_slider", "lr_lr", 0.5),
    "views/ch02_shapes.py": ("slider", "shape_b", 256),
    "views/ch03_cross_entropy.py": ("select_slider", "ce_scale", 1000.0),
    "views/ch06_batching.py": ("toggle", "bat_shuffle", True),
    "views/ch04_graph.py": ("slider", "g_hid", 6),
    "views/t3_binary_activation.py": ("slider", "ca_hidden", 2),
    "views/t1_custom_layer_mlp.py": ("button", "dm_train", None),
    "views/ch05_optimizers.py": ("selectbox", "opt_surf", "Rosenbrock"),
    "views/ch07_training.py": ("button", "tr_step", None),
    "views/ch08_scratch_vs_nn.py": ("segmented_control", "sv_opt", "Adam"),
    "views/ch09_gpu.py": ("segmented_control", "gpu_op", "matmul"),
}

PAGES = [p["path"] for p in registry.existing_pages()]


def test_registry_lists_home_and_every_page_file():
    listed = {p["path"] for p in registry.PAGES}
    on_disk = {f"views/{f.name}" for f in (registry.ROOT / "views").glob("*.py")}
    assert on_disk <= listed, f"page files missing from ui/registry.py: {on_disk - listed}"
    assert "views/home.py" in PAGES


@pytest.mark.parametrize("path", PAGES)
def test_page_renders(path):
    at = open_page(path)
    assert_no_exception(at)
    assert at.title, f"{path} shows no title"


@pytest.mark.parametrize("path", PAGES)
def test_main_widget_changes_output(path):
    assert path in MAIN_WIDGET, f"declare the main widget of {path} in MAIN_WIDGET"
    probe = MAIN_WIDGET[path]
    if probe is None:
        pytest.skip(f"{path} has no widget")
    kind, key, value = probe
    at = open_page(path)
    before = page_output(at)
    if kind == "button":
        at.button(key=key).click().run()
    else:
        getattr(at, kind)(key=key).set_value(value).run()
    assert_no_exception(at)
    assert page_output(at) != before, f"moving {key} on {path} changed nothing on screen"
