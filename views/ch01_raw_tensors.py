"""Chapter 1: a network is four tensors. What they hold, what they cost, and why their scale matters."""
from pathlib import Path

import streamlit as st
import torch

import exports
import ui
from core import network
from labs import ch00_draw_digit
from labs import ch01_raw_tensors as lab
from ui import ch01_figures as figures

FLOAT32_MAX = torch.finfo(torch.float32).max  # 3.40e38: anything larger becomes inf

MODEL_PATH = Path(__file__).resolve().parent.parent / "models" / "mnist_784_128_10.pt"
INITS = ["kaiming", "xavier", "normal"]
INIT_LABELS = {"kaiming": "Kaiming: randn * sqrt(2 / fan_in)", "xavier": "Xavier: randn * sqrt(2 / (fan_in + fan_out))",
               "normal": "plain randn (std 1)"}

L = ui.page("1 · Raw tensors",
            "Our whole digit reader is four tensors, W1, b1, W2 and b2: here they are, read straight from memory.")


@st.cache_resource(show_spinner=False)
def trained_weights():
    """The trained 784-128-10 from models/ (shared by every session: read-only)."""
    return ch00_draw_digit.load_weights(MODEL_PATH)


@st.cache_data(max_entries=64, show_spinner="Pushing random data through the stack...")
def spreads(depth, width, seed):
    """Activation spread layer by layer for the three initialisations (cached per setting)."""
    return lab.compare_inits(INITS, depth=depth, width=width, n_samples=128, seed=seed)


# ------------------------------------------------------------------ the four tensors
with L.controls:
    init = ui.selectbox("Initialisation", INITS, 0, key="tensors_init", format_func=lambda k: INIT_LABELS[k])
    use_trained = ui.toggle("Trained weights", False, key="tensors_trained",
                            help="Show the weights the Draw-a-digit page uses, after training, instead of "
                                 "fresh random ones.",
                            disabled=not MODEL_PATH.exists())
    unit = ui.slider("Hidden unit", 0, 127, 0, key="tensors_unit",
                     help="Column j of W1 holds the 784 weights hidden unit j gives to the pixels.")
with L.more:
    seed = ui.seed("tensors_seed")

trained_shown = bool(use_trained and MODEL_PATH.exists())
if trained_shown:
    params = trained_weights()
    origin = "trained weights from `models/mnist_784_128_10.pt`"
else:
    params = network.init_mlp([784, 128, 10], init=init, seed=seed)   # fresh random weights, biases 0
    origin = f"fresh `{init}` weights, seed {seed}"

# The lesson's W1 = torch.randn(784, 128, requires_grad=True): ask autograd to watch each tensor.
tensors = [(name, t.detach().clone().requires_grad_(True)) for name, t in network.named_tensors(params)]

rows = []
for name, t in tensors:
    rows.append({
        "tensor": name, "shape": str(list(t.shape)), "dtype": str(t.dtype).replace("torch.", ""),
        "device": str(t.device), "requires_grad": t.requires_grad, "grad": "None" if t.grad is None else "set",
        "numbers": f"{t.numel():,}", "bytes": f"{t.numel() * t.element_size():,}",
        "mean": f"{t.mean().item():.4f}", "std": f"{t.std().item():.4f}" if t.numel() > 1 else "-",
        "min": f"{t.min().item():.4f}", "max": f"{t.max().item():.4f}",
    })

n_params = network.count_params(params)
n_bytes = network.count_bytes(params)
with L.controls:
    c1, c2 = st.columns(2) if not ui.presenter() else (st, st)   # side by side only where the numbers fit
    c1.metric("Parameters", f"{n_params:,}")
    c2.metric("Bytes", f"{n_bytes:,}")
    st.metric("Share held by W1", f"{tensors[0][1].numel() / n_params:.1%}")
with L.below:
    st.subheader(f"The four tensors ({origin})")
    ui.stat_table(rows)
    st.caption(f"784 x 128 + 128 + 128 x 10 + 10 = {n_params:,} numbers, each a 4-byte float32: "
               f"{n_bytes:,} bytes, about {n_bytes / 1000:.0f} kB ({n_bytes / 1024:.0f} KiB). "
               "`.grad` stays None until a backward pass fills it.")

W1 = tensors[0][1].detach()
W2 = tensors[2][1].detach()
left, right = L.picture.columns([1, 1])
with left:
    bound = float(W1.abs().max()) or 1.0
    ui.plot(figures.weights_figure(W1.numpy(), bound), key="tensors_w1", height=440)
with right:
    col = W1[:, unit]
    b = float(col.abs().max()) or 1.0
    ui.plot(figures.unit_figure(col.reshape(28, 28).numpy(), b, unit), key="tensors_unit_map", height=380)
    st.caption(f"Unit {unit}: weights from {col.min().item():.3f} to {col.max().item():.3f}. Orange pixels "
               "push the unit up, blue ones down. After training these look like pen-stroke detectors; "
               "fresh from the random generator they are noise.")

with st.expander(":material/grid_on: W2 [128, 10] and the biases", expanded=False):
    b2w = float(W2.abs().max()) or 1.0
    ui.plot(figures.w2_figure(W2.T.numpy(), b2w), key="tensors_w2", height=300)
    ui.plot(figures.bias_figure(tensors[1][1].detach().numpy(), ui.COLORS["forward"]), key="tensors_b1", height=250)
    st.caption("Fresh biases are all zero: the random weights already make every unit different.")

ui.show_source(network.init_mlp, network.count_params, network.count_bytes)

# ------------------------------------------------------------------ why scale matters
st.header("Why the scale of the random numbers matters")
st.markdown("Stack many `[width, width]` layers, each `h = relu(h @ W)`, and send 128 random inputs "
            "(spread 1) through them. Watch the spread (standard deviation) of what comes out of each layer.")


def spread_outcome(run):
    """Which of the prompts' three options the last layer's measured spread falls into."""
    last = run[-1]
    return 2 if not last["finite"] or last["std"] > 100 else 1 if last["std"] < 0.01 else 0


def spread_text(run):
    return "inf (past float32's largest number)" if not run[-1]["finite"] else f"{run[-1]['std']:.3g}"


OUTCOMES = ["About 1, like the input", "Far below 1: the signal fades away", "Far above 1 (or inf): it explodes"]
p1, p2 = st.columns(2)
with p1:
    plain = spreads(20, 128, seed)["normal"]
    ui.predict("ch1_randn", "Plain randn weights (spread 1), 20 layers of width 128: the spread after the "
               "last layer is...", OUTCOMES, spread_outcome(plain),
               why=f"Measured just now (seed {seed}): {spread_text(plain)}. Each layer multiplies the spread by "
                   f"about sqrt(128 / 2) = {(128 / 2) ** 0.5:.1f}, and {(128 / 2) ** 0.5:.1f}^20 = "
                   f"{(128 / 2) ** 10:.2g}.")
with p2:
    xavier = spreads(50, 128, seed)["xavier"]
    ui.predict("ch1_xavier", "Xavier weights with ReLU, 50 layers of width 128: the spread after the last "
               "layer is...", OUTCOMES, spread_outcome(xavier),
               why=f"Measured just now (seed {seed}): {spread_text(xavier)}. Xavier's scale "
                   f"sqrt(2 / (128 + 128)) = {(2 / 256) ** 0.5:.3f} is sqrt(2) smaller than ReLU needs, so each "
                   f"layer multiplies the spread by about 1 / sqrt(2): (1 / sqrt(2))^50 = {0.5 ** 25:.1e}.")
s1, s2 = st.columns(2)
with s1:
    depth = ui.slider("Depth (layers)", 1, 50, 20, key="tensors_depth")
with s2:
    width = ui.select_slider("Width (units per layer)", [8, 16, 32, 64, 128, 256, 512], 128, key="tensors_width")

runs = spreads(depth, width, seed)
INIT_COLORS = {"kaiming": ui.COLORS["correct"], "xavier": ui.COLORS["forward"], "normal": ui.COLORS["wrong"]}
ui.plot(figures.spread_figure(runs, INITS, INIT_LABELS, INIT_COLORS), key="tensors_spread", height=420)

summary = []
for name in INITS:
    last = runs[name][-1]
    blow = lab.first_blowup(runs[name])
    summary.append({
        "initialisation": INIT_LABELS[name],
        f"std after layer {depth}": "overflow (inf)" if not last["finite"] else f"{last['std']:.3g}",
        "zeros in last layer": f"{last['dead']:.0%}" if last["finite"] else "-",
        "units dead for every input": f"{last['dead_units']:.0%}" if last["finite"] else "-",
        "spread left 1/100..100 at": "never" if blow is None else f"layer {blow[0]} ({blow[1]})",
    })
ui.stat_table(summary)
overflow = [INIT_LABELS[n] for n in INITS if not runs[n][-1]["finite"]]
if overflow:
    st.warning(f"With {', '.join(overflow)} the numbers grew past the largest float32 ({FLOAT32_MAX:.2e}) and "
               "became inf: the curve stops where that happened. A network like that cannot be trained.",
               icon=":material/warning:")

script = exports.fill("ch01_raw_tensors", dict(init=init, seed=seed, depth=depth, width=width, unit=unit,
                                               trained=trained_shown, inits=INITS))
ui.download_script(script, "ch01_raw_tensors.py", key="tensors_download")
st.caption("The script rebuilds the four tensors shown at the top and the three stacks above with the `core` "
           "package (run it from the repository root) and prints the parameter count, the bytes, each tensor's "
           "mean / std / min / max, the spread after every layer and this table, rounded as on the page.")

ui.explain(
    f"""
**Why plain `randn` explodes.** Each output of `h @ W` adds up `width` products. With weights of
spread 1 the sum has spread about `sqrt(width)`, and ReLU keeps roughly half of its energy, so every
layer multiplies the spread by about `sqrt(width / 2)`: {(width / 2) ** 0.5:.1f} for width {width}.
After {depth} layers that is a factor of about {(width / 2) ** (depth / 2):.2g}.

**Why Kaiming does not.** Multiplying the weights by `sqrt(2 / fan_in)` cancels exactly that factor,
so the spread stays near where it started, however deep the stack. For the 784-128 first layer the
factor is `sqrt(2 / 784)` = 0.0505: weights mostly between -0.15 and 0.15 instead of -3 and 3.

**Xavier** uses `sqrt(2 / (fan_in + fan_out))`, designed for tanh. With ReLU it is too small by
`sqrt(2)`, so the variance halves every layer and the signal fades away.

**Dead units.** The share of zeros barely depends on the scale (multiplying all weights by a positive
number cannot change a sign), but it grows with depth in narrow stacks: once a unit outputs 0 for every
input, no gradient flows through it.
""")
ui.show_source(lab.activation_spread, lab.first_blowup)

ui.quiz(
    "ch1",
    "We create W1 with requires_grad=True. What does that flag do?",
    [
        "It makes the random numbers drawn for W1 smaller, so training is stable",
        "It tells PyTorch to record every operation done with W1, so that .backward() can later fill W1.grad",
        "It moves W1 onto the GPU",
        "It freezes W1 so the optimizer cannot change it",
    ],
    answer=1,
    why="With the flag on, every result computed from W1 remembers how it was made. That record is the "
        "computation graph; .backward() walks it in reverse to put d loss / d W1 into W1.grad. "
        "Without it W1 is just an array of numbers and no gradient is ever computed for it.",
)
