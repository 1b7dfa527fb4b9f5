"""Chapter 10: what torch.nn adds. Each component next to its raw-tensor equivalent, checked live."""
import streamlit as st

import exports
import ui
from core import dropout, network
from labs import ch10_torch_nn as lab
from ui import ch10_figures as figs

L = ui.page("10 · What torch.nn adds",
            "Each torch.nn piece next to the raw-tensor code it replaces, same batch, same weights: "
            "the difference, measured now.")

ui.require_mnist_test()   # the committed test split; a plain-words error and a stop if it cannot be read


def batch(batch_size, seed):
    """(x [B, 784], y [B]): a seeded batch of MNIST test digits."""
    return ui.mnist_test_batch(batch_size, seed, lab.pick_batch)


# component (a key of lab.TORCH_NN_CHECKS, in its order) -> (what the raw-tensor side does, what torch.nn adds)
PARTS = {
    "nn.Linear": ("`x @ W + b` with `W [784, 128]`, `b [128]`",
                  "holds `weight [128, 784]` (= W.T) and `bias`, registers both as parameters, computes "
                  "`x @ weight.T + bias`."),
    "nn.ReLU": ("`torch.clamp(z, min=0)`",
                "a module wrapper around the same clamp, so it can sit inside `nn.Sequential`."),
    "F.cross_entropy": ("`core.losses.cross_entropy`: log-softmax with the max subtracted, then the mean of "
                        "-log p[correct class]",
                        "one fused call with the same maths (and options such as label smoothing)."),
    "optim.SGD": ("`core.optim.sgd_step`: `v = mu v + g;  W -= lr v`",
                  "keeps the velocity buffers for every parameter it was given."),
    "optim.Adam": ("`core.optim.adam_step`: running means m, v, bias correction, `W -= lr m_hat / (sqrt(v_hat) + eps)`",
                   "keeps m, v and the step count per parameter."),
    "DataLoader(shuffle=True)": ("`torch.randperm(N)` cut into slices of B",
                                 "the same permutation and slicing, plus worker processes, pinned memory "
                                 "and collation of any dataset."),
    "nn.Dropout": ("`mask = bernoulli(1 - p);  x * mask / (1 - p)`",
                   "the same mask from the global generator, switched off by `model.eval()`."),
    "state_dict save / load": ("`torch.save({'0.weight': W1.T, '0.bias': b1, ...})`",
                               "`model.state_dict()` names every tensor for you; `load_state_dict` checks "
                               "every name and shape."),
    "model.parameters()": ("`params = [W1, b1, W2, b2]`, written by hand",
                           "finds every registered tensor, however deeply nested, so none is forgotten."),
}

with L.controls:
    part = ui.selectbox("Component", list(PARTS), key="tn_part", help="the torch.nn piece to check")
    B = ui.select_slider("Batch size", [1, 2, 8, 32, 64, 128, 256], 64, key="tn_batch",
                         help="MNIST test digits both versions run on")
with L.more:
    seed = ui.seed("tn_seed")

check, (scratch_text, torch_text) = lab.TORCH_NN_CHECKS[part], PARTS[part]
kwargs = {}
with L.controls:
    if part == "optim.SGD":
        kwargs["lr"] = ui.select_slider("Learning rate", [0.001, 0.01, 0.1, 0.5, 1.0], 0.1, key="tn_sgd_lr")
        kwargs["momentum"] = ui.select_slider("Momentum", [0.0, 0.5, 0.9, 0.99], 0.9, key="tn_sgd_mom")
    elif part == "optim.Adam":
        kwargs["lr"] = ui.select_slider("Learning rate", [0.0001, 0.001, 0.01, 0.1], 0.001, key="tn_adam_lr")
    elif part == "DataLoader(shuffle=True)":
        kwargs["batch_size"] = ui.slider("Loader batch size", 1, 256, 16, key="tn_mb",
                                         help="the mini-batch size inside the DataLoader")
    elif part == "nn.Dropout":
        kwargs["p"] = ui.slider("Drop probability p", 0.0, 0.95, 0.5, step=0.05, key="tn_p")
if part in lab.RACES:
    with L.more:
        kwargs["steps"] = ui.slider("Steps", 1, 20, 3, key="tn_steps", help="optimizer steps both versions take")

@st.cache_data(max_entries=300, show_spinner="Running both versions...")
def run_check(part, B, seed, kwargs, float64=True):
    return lab.check_component(part, *batch(B, seed), seed, float64, **dict(kwargs))


result = run_check(part, B, seed, tuple(sorted(kwargs.items())))


# Every component on the same batch: the selected one with the page's settings, the others at their defaults.
diffs = {name: (result if name == part else run_check(name, B, seed, (), float64=False))["max_abs_diff"]
         for name in PARTS}   # the bars show the float32 gaps: no float64 rerun for the other races
with L.picture:
    ui.plot(figs.difference_bars(list(diffs), list(diffs.values()), lab.TOLERANCE, "1e-5",
                                 "max |from scratch - torch.nn|", selected=part, title=f"{part}: the full-colour bar"),
            key="tn_components")
diff = result["max_abs_diff"]
with L.controls:
    st.metric(f"max |scratch - {part}|", f"{diff:.1e}")
    st.metric("Equal within 1e-5", "yes" if diff <= lab.TOLERANCE else "no")
st.metric("Batch", f"{B} MNIST digits")   # full width: the value is too wide for the controls column in presenter mode
left, right = st.columns(2)
left.markdown(f"**From scratch:** {scratch_text}")
right.markdown(f"**{part}:** {torch_text}")
# What else the check measured, in words.
if part == "DataLoader(shuffle=True)":
    st.markdown(f"{result['n_batches']} mini-batches. Same order as the DataLoader: "
                f"**{'yes' if diff == 0 else 'no'}**; "
                f"same set of batches: **{'yes' if result['same_sets'] else 'no'}**; "
                f"every index exactly once: **{'yes' if result['covers_each_once'] else 'no'}**. "
                f"Without first drawing the one number DataLoader takes for its workers, the order would "
                f"{'still match' if result['naive_same_order'] else 'differ'}.")
    st.caption(f"first batch, ours: {result['first_batch_ours'][:16]}  \nfirst batch, DataLoader: "
               f"{result['first_batch_torch'][:16]}")
elif part == "nn.Dropout":
    st.markdown(f"Same mask: **{'yes' if result['same_mask'] else 'no'}** "
                f"(ours from `torch.Generator().manual_seed({seed})`, "
                f"nn.Dropout's after `torch.manual_seed({seed})`); "
                f"fraction kept: **{result['kept_fraction']:.3f}** (expected {1 - kwargs['p']:.2f}); in eval mode "
                f"the output equals the input: **{'yes' if result['eval_is_identity'] else 'no'}**.")
elif part == "state_dict save / load":
    st.markdown(f"Saved {result['bytes']:,} bytes under the keys {', '.join(f'`{k}`' for k in result['keys'])}; "
                f"`load_state_dict` into a fresh `nn.Sequential(Linear, ReLU, Linear)` reported missing keys: "
                f"{result['missing'] or 'none'}, unexpected keys: {result['unexpected'] or 'none'}. The metric "
                "compares the loaded model's logits with our forward pass.")
elif part == "model.parameters()":
    st.markdown(f"By hand: {result['count_ours']} tensors; `model.parameters()` found {result['count_torch']}, "
                f"{result['numbers']:,} numbers in all.")
elif part in lab.RACES:
    st.metric("The same race in float64: max difference", f"{result['float64_diff']:.1e}")
    st.markdown(f"Weights compared after {result['steps']} steps from the same start on the same batch.")
    if diff > lab.TOLERANCE:
        st.info("The float32 gap is above 1e-5 here, but it is rounding, not a different method: our "
                "hand-written backward pass sums in a different order than autograd (differences near 1e-8), "
                "and large or many steps amplify that along the training path. Run the same race in float64 "
                "and the gap drops to about 1e-12.", icon=":material/info:")
elif part == "nn.ReLU":
    st.markdown(f"{result['fraction_zero']:.1%} of the hidden pre-activations are negative and become 0.")
elif part == "F.cross_entropy":
    st.markdown(f"Ours: {result['ours']:.7f}; F.cross_entropy: {result['torch']:.7f}.")
ui.show_source(check, title="The code that ran both sides")


def adam_hot(B, seed):
    """The prediction's answer and why: Adam at lr 0.1 for 20 steps on this batch (run only once someone picks)."""
    hot = run_check("optim.Adam", B, seed, (("lr", 0.1), ("steps", 20)))
    return (0 if hot["max_abs_diff"] <= lab.TOLERANCE else 1,
            f"On this batch of {B} digits the weights after 20 steps differ by {hot['max_abs_diff']:.1e} in float32 "
            f"and by {hot['float64_diff']:.1e} when both run in float64: the same method, with rounding "
            "differences (about 1e-8 per step) carried along the training path. Pick optim.Adam above and set "
            "these values to see it.")


ui.predict("ch10_adam_hot", "Adam with learning rate 0.1 for 20 steps: do ours and optim.Adam still agree within 1e-5?",
           ["Yes, within 1e-5", "No: the gap grows past 1e-5"], reveal=lambda: adam_hot(B, seed))
ui.download_script(exports.fill("ch10_torch_nn", dict(part=part, component=kwargs, batch_size=B, seed=seed)),
                   "ch10_torch_nn.py", key="tn_download")
st.caption(f"The script reruns this {part} check on the same batch with the `core` package (run it from the "
           "repository root) and prints the difference and the facts above and the hook table below, rounded "
           "like the page; `python torch_nn.py --all` checks every component once.")

# ------------------------------------------------------- your own class
st.subheader("Your own nn.Module class, next to nn.Sequential")
st.markdown(
    "Most PyTorch code writes a model as a class: the layers are created in `__init__` (assigning an `nn.Linear` "
    "to `self` registers its weight and bias) and `forward` says how data flows through them. `nn.Sequential` "
    "is the short form for a plain chain of layers. Both are loaded with the same weights as our raw tensors "
    "and run on the batch above; the page compares the logits and all four gradients (of W1, b1, W2, b2) "
    "with our forward pass and our hand-written backward pass."
)


@st.cache_data(max_entries=100, show_spinner=False)
def class_check(B, seed):
    x, y = batch(B, seed)
    return lab.check_class_and_sequential(x, y, seed)


cls = class_check(B, seed)
m = st.columns(4)
m[0].metric("class Net: max |logits difference|", f"{cls['net_logits_diff']:.1e}")
m[1].metric("class Net: max |gradient difference|", f"{cls['net_grad_diff']:.1e}")
m[2].metric("nn.Sequential: max |logits difference|", f"{cls['seq_logits_diff']:.1e}")
m[3].metric("nn.Sequential: max |gradient difference|", f"{cls['seq_grad_diff']:.1e}")
st.markdown(f"Both equal to the raw-tensor network within 1e-5: "
            f"**{'yes' if cls['max_abs_diff'] <= lab.TOLERANCE else 'no'}**. "
            f"`Net().parameters()` found {', '.join(f'`{n}`' for n in cls['net_names'])}; "
            f"`nn.Sequential` names the same tensors by position: {', '.join(f'`{n}`' for n in cls['seq_names'])}.")
seq_diff = cls["seq_logits_diff"]
ui.predict("ch10_sequential_logits", "Will nn.Sequential's logits equal our raw-tensor logits exactly?",
           ["Yes, bit for bit (difference 0)", "Equal up to float32 rounding (below 1e-5)", "No, clearly different"],
           answer=0 if seq_diff == 0 else (1 if seq_diff <= lab.TOLERANCE else 2),
           why=(f"Measured on this batch of {B} digits: max |logits difference| = {seq_diff:.1e}"
                + (": the same multiplications and additions in the same order." if seq_diff == 0 else
                   ": float32 rounding (a float32 number carries about 7 significant digits). nn.Linear computes "
                   "x @ weight.T + bias in one fused call, which rounds in a different order than our x @ W + b."
                   if seq_diff <= lab.TOLERANCE else ": larger than rounding.")))
ui.show_source(lab.Net, expanded=True, title="class Net, the source that ran (inspect.getsource)")
ui.show_source(lab.build_models, lab.check_class_and_sequential,
               title="How both modules get our weights, and the comparison")

# ---------------------------------------------------------------- hooks
st.subheader("Forward hooks: look inside a model while it runs")
st.markdown(
    "A forward hook is a function that `nn.Module` calls with `(module, inputs, output)` each time the layer "
    "finishes. One hook on every layer of `nn.Sequential(Linear(784, 128), ReLU(), Linear(128, 10))` collects "
    "the statistics below for the batch above. The last column checks the hooked tensor against the value our "
    "own forward pass keeps in its cache."
)


@st.cache_data(max_entries=100, show_spinner=False)
def hooks(B, seed):
    x, _ = batch(B, seed)
    return lab.activation_stats(x, seed), lab.hook_samples(x, seed)


rows, values = hooks(B, seed)
ui.stat_table(rows)
ui.plot(figs.activation_histograms(values), key="tn_hooks")
ui.explain(
    "With our own code, looking inside means editing the forward function. With `nn.Module` you attach a hook "
    "from the outside, to any layer of any model, and remove it again with `handle.remove()`. Here about half "
    "of the ReLU outputs are exactly 0 (the negative half of the Linear layer's outputs), which is what a fresh "
    "network with zero-centred weights should show; a layer where the fraction of zeros approaches 1 would be "
    "'dead'. Hooks are how people debug exploding or vanishing activations in large models.",
    title="Why hooks are handy",
)
ui.show_source(lab.hooked_outputs, lab.activation_stats)

ui.explain(
    "For a two-layer network torch.nn saves a handful of lines. For a model with hundreds of layers it saves "
    "you from listing hundreds of tensors by hand (and forgetting one, which then never trains), from naming "
    "every tensor when saving, from writing the optimizer's bookkeeping per tensor, and it gives well-tested "
    "layers (convolutions, normalisation, attention) that would take many lines each. Every check above is "
    "the same arithmetic with different bookkeeping.",
    title="The point of torch.nn",
)
ui.show_source(network.to_torch_sequential, lab.to_state_dict, dropout.dropout,
               title="How our tensors become an nn.Sequential, a state_dict and a dropout layer")

ui.quiz("ch10", "What is the main thing torch.nn gives you on top of raw tensors?",
        ["Faster matrix multiplication than plain tensor operations",
         "More accurate gradients than autograd on raw tensors",
         "Organisation: parameters tracked for you, containers, saving and loading, ready-made layers, with no "
         "new computation",
         "The ability to run on a GPU, which raw tensors cannot do"],
        answer=2,
        why="Every check on this page gives the same numbers both ways: nn modules call the same tensor operations. "
            "Raw tensors run on a GPU too (`.to('cuda')`); torch.nn only does the bookkeeping.")
