"""The one list of every page in the app.

`app.py` builds the navigation from it, the home page draws the chapter map
from it, and the tests enumerate it, so a page added here is covered by the
smoke tests and the browser tests automatically.

A page is listed only once its file exists: the list below is the plan, and
`existing_pages()` is what the app shows.
"""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SECTIONS = [
    "Start",
    "Part 1 · Build it by hand",
    "Part 2 · Train it",
    "Part 3 · Meet torch.nn",
    "Shorter tutorials",
]

# path: file relative to the repo root; url: the page's address (/url);
# chapter: the lesson chapter (None for the home page and the tutorials);
# blurb: one line for the chapter map.
PAGES = [
    dict(path="views/home.py", title="Home", icon=":material/home:", url="home",
         section="Start", chapter=None, default=True,
         blurb="What this app is, the chapter map and your quiz score."),
    dict(path="views/ch00_draw_digit.py", title="0 · Draw a digit", icon=":material/draw:",
         url="draw", section="Start", chapter=0,
         blurb="The challenge: a 784-128-10 network built from raw tensors reads your handwriting."),
    dict(path="views/class_mode.py", title="Class mode", icon=":material/groups:", url="class",
         section="Start", chapter=None,
         blurb="Teach with it: students join with a code, quiz answers tally live, a challenge leaderboard."),
    dict(path="views/ch01_raw_tensors.py", title="1 · Raw tensors", icon=":material/grid_on:",
         url="tensors", section="Part 1 · Build it by hand", chapter=1,
         blurb="A network is four tensors: their shapes, bytes, and why initialisation scale matters."),
    dict(path="views/ch02_shapes.py", title="2 · Shape propagation", icon=":material/view_column:",
         url="shapes", section="Part 1 · Build it by hand", chapter=2,
         blurb="Follow a real MNIST batch through x @ W1 + b1, ReLU, @ W2 + b2 and softmax."),
    dict(path="views/ch03_cross_entropy.py", title="3 · Cross-entropy explorer", icon=":material/functions:",
         url="cross-entropy", section="Part 1 · Build it by hand", chapter=3,
         blurb="Drag logits, watch softmax, the loss and its gradient; break the naive softmax."),
    dict(path="views/ch04_graph.py", title="4 · Computation graph", icon=":material/account_tree:",
         url="graph", section="Part 1 · Build it by hand", chapter=4,
         blurb="Step the backward pass node by node and check every gradient three ways."),
    dict(path="views/ch05_optimizers.py", title="5 · Optimizer landscape", icon=":material/landscape:",
         url="optimizers", section="Part 1 · Build it by hand", chapter=5,
         blurb="SGD, momentum and Adam race across ravines, saddles and bumpy surfaces."),
    dict(path="views/ch06_batching.py", title="6 · Shuffling & batching", icon=":material/shuffle:",
         url="batching", section="Part 1 · Build it by hand", chapter=6,
         blurb="randperm + slice is all a DataLoader does; see why unshuffled data hurts."),
    dict(path="views/ch07_training.py", title="7 · Live training", icon=":material/play_circle:",
         url="training", section="Part 2 · Train it", chapter=7,
         blurb="Train a network on 2D data live: decision boundary, curves, divergence."),
    dict(path="views/ch07_mnist.py", title="7b · Training on MNIST", icon=":material/model_training:",
         url="mnist", section="Part 2 · Train it", chapter=None,
         blurb="Epochs on real digits: accuracy, confusion matrix, mistakes, an optimizer race."),
    dict(path="views/ch08_scratch_vs_nn.py", title="8 · Scratch vs torch.nn", icon=":material/compare_arrows:",
         url="scratch-vs-nn", section="Part 2 · Train it", chapter=8,
         blurb="Same seed, same data: the hand-written loop and torch.nn side by side, the gap measured."),
    dict(path="views/ch09_gpu.py", title="9 · CPU vs GPU", icon=":material/speed:",
         url="gpu", section="Part 2 · Train it", chapter=9,
         blurb="Throughput measured on this machine, and why you must synchronize before timing."),
    dict(path="views/ch10_torch_nn.py", title="10 · What torch.nn adds", icon=":material/widgets:",
         url="torch-nn", section="Part 3 · Meet torch.nn", chapter=10,
         blurb="Each torch.nn piece next to its raw-tensor equivalent, checked live."),
    dict(path="views/ch11_mastery.py", title="11 · Mastery & dropout", icon=":material/school:",
         url="mastery", section="Part 3 · Meet torch.nn", chapter=11,
         blurb="The equivalence table verified live, and dropout built by hand."),
    dict(path="views/t0_first_network.py", title="Your first neural network", icon=":material/vaccines:",
         url="first-network", section="Shorter tutorials", chapter=None,
         blurb="Dose in, effectiveness out: a 7-parameter network and one trained bias."),
    dict(path="views/t2_linear_regression.py", title="Linear regression by hand", icon=":material/show_chart:",
         url="linear-regression", section="Shorter tutorials", chapter=None,
         blurb="y = w x + b with autograd, and what happens if you forget zero_()."),
    dict(path="views/t3_binary_activation.py", title="Binary classifier & your own activation",
         icon=":material/function:", url="custom-activation", section="Shorter tutorials", chapter=None,
         blurb="Sigmoid + BCE on 2D points, and an activation you type as a formula."),
    dict(path="views/t1_custom_layer_mlp.py", title="Custom layer & a deeper MLP", icon=":material/layers:",
         url="deeper-mlp", section="Shorter tutorials", chapter=None,
         blurb="A linear layer from nn.Parameter, a 784-128-64-10 MLP, and the overfitting gap."),
]


def existing_pages():
    """The planned pages whose file exists, in navigation order."""
    return [p for p in PAGES if (ROOT / p["path"]).exists()]


def page_by_path(path):
    """The registry entry for a page file (e.g. 'views/ch03_cross_entropy.py')."""
    for p in PAGES:
        if p["path"] == path:
            return p
    raise KeyError(path)


def lesson_neighbours(url):
    """(previous page, next page) of the page at `url` in lesson order (the list above without the class-mode
    page, which is a tool, not a lesson); None at either end. A page outside that order gets (None, the first
    chapter)."""
    lesson = [p for p in existing_pages() if p["url"] != "class"]
    urls = [p["url"] for p in lesson]
    if url not in urls:
        return None, next((p for p in lesson if p["chapter"] == 0), None)
    i = urls.index(url)
    return (lesson[i - 1] if i > 0 else None), (lesson[i + 1] if i + 1 < len(lesson) else None)
