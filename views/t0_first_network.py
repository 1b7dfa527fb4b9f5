"""Tutorial 000: your first neural network, dose in and effectiveness out, and one trained bias."""
import math

import streamlit as st

import exports
import ui
from labs import t0_first_network as lab
from ui import t0_figures as figs

L = ui.page("Your first neural network",
            "A dose goes in, its effect comes out; two hidden ReLU units in between: seven numbers, all yours to move.")

T = lab.TUTORIAL_PARAMS
LABELS = {"w00": "w00 (dose -> top unit)", "b00": "b00 (top unit bias)", "w01": "w01 (top unit -> output)",
          "w10": "w10 (dose -> bottom unit)", "b10": "b10 (bottom unit bias)",
          "w11": "w11 (bottom unit -> output)", "final_bias": "final bias"}
RANGES = {"w00": (-20.0, 20.0), "b00": (-20.0, 20.0), "w01": (-50.0, 50.0), "w10": (-20.0, 20.0),
          "b10": (-20.0, 20.0), "w11": (-50.0, 50.0), "final_bias": (-50.0, 50.0)}

params = {}
groups = [("Top hidden unit", ["w00", "b00", "w01"]), ("Bottom hidden unit", ["w10", "b10", "w11"])]


def _reset():
    for name in T:
        st.session_state[f"fn_{name}"] = T[name]


steps = ["1 · top unit", "2 · bottom unit", "3 · sum of both branches", "4 · + final bias, then ReLU"]
SHORT = {steps[0]: "Top", steps[1]: "Bottom", steps[2]: "Sum", steps[3]: "Output"}
with L.controls:
    shown = ui.segmented("Build step by step", steps, steps[-1], key="fn_step", format_func=SHORT.get,
                         help="1 the top unit, 2 the bottom unit, 3 the sum of both branches, 4 + the final bias, "
                              "then ReLU")
    lo, hi = RANGES["final_bias"]
    params["final_bias"] = ui.slider(LABELS["final_bias"], lo, hi, T["final_bias"], step=0.05, key="fn_final_bias")
    st.button("Tutorial's values", key="fn_reset", on_click=_reset, icon=":material/restart_alt:",
              help="put all seven numbers back to the tutorial's diagram")
with L.more:
    for title, names in groups:
        st.markdown(f"**{title}**")
        for name in names:
            lo, hi = RANGES[name]
            params[name] = ui.slider(LABELS[name], lo, hi, T[name], step=0.05, key=f"fn_{name}")
params = {name: params[name] for name in T}   # the tutorial's order
k = steps.index(shown) + 1


@st.cache_data(max_entries=200, show_spinner=False)
def curve(values):
    """The network's intermediate values over doses 0..1 (pure function of the seven numbers)."""
    return lab.dose_curve(dict(values))


c = curve(tuple(params.items()))
with L.picture:
    ui.plot(figs.build_figure(c, params, k, lab.TRAIN_DOSES, lab.TRAIN_EFFECT), key="fn_curve")
st.subheader("1 · Seven numbers make the network")

idx = [0, 100, 200]  # doses 0, 0.5, 1 on the 201-point grid
ui.stat_table([{"dose": f"{c['dose'][i]:.1f}", "top unit (after ReLU)": float(c["top"][i]),
                "x w01": float(c["top_scaled"][i]), "bottom unit (after ReLU)": float(c["bottom"][i]),
                "x w11": float(c["bottom_scaled"][i]), "sum + final bias": float(c["summed"][i]),
                "output": float(c["output"][i])} for i in idx])
m = st.columns(3)
for col, i, target in zip(m, idx, lab.TRAIN_EFFECT):
    col.metric(f"Output at dose {c['dose'][i]:.1f}", f"{c['output'][i]:.4f}", help=f"target {target:g}")

ui.explain(
    "Each hidden unit computes `dose * weight + bias` and passes it through ReLU, which keeps positive "
    "numbers and turns negative ones into 0: a bent line. With the tutorial's values, "
    "the top unit is 0 until the dose reaches "
    "0.85 / 1.7 = 0.5 and then rises steeply; multiplied by -40.8 it becomes a cliff going down. The "
    "bottom unit rises from dose 0 and is scaled by 2.7. Adding the two bent lines gives a tent that "
    "peaks at dose 0.5; the final bias of -16 slides the tent down so that only its tip stays above 0, "
    "and the last ReLU cuts off everything below. Result: a medium dose works (about 1.0), a low or a "
    "high dose does nothing. Step through the four stages above to watch it being built.",
    title="How two bent lines make a bump",
)
ui.show_source(lab.dose_forward)

# ---------------------------------------------------------------- training
st.subheader("2 · Forget the final bias and learn it back")
st.markdown(
    "Now pretend we do not know the final bias. It starts at 0; the other six numbers stay as set above "
    "(frozen). Each epoch runs the three training points through the network, adds up their squared errors "
    "and their gradients, and stops as soon as the epoch's total squared error is below 0.0001; otherwise "
    "it takes one SGD step on the bias."
)
cols = st.columns(3)
with cols[0]:
    lr = ui.select_slider("Learning rate", [0.001, 0.01, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 0.9, 1.0, 2.0],
                          0.1, key="fn_lr")
with cols[1]:
    start = ui.slider("Starting bias", -30.0, 30.0, 0.0, step=0.5, key="fn_start")
with cols[2]:
    max_epochs = ui.slider("Epochs at most", 10, 1000, 100, step=10, key="fn_epochs")


@st.cache_data(max_entries=200, show_spinner=False)
def train(values, lr, start, max_epochs):
    p = dict(values)
    hist = lab.train_final_bias(p, lr=lr, start_bias=start, max_epochs=max_epochs)
    res = lab.residuals({**p, "final_bias": hist["final_bias"]})
    return hist, res.tolist()


hist, res = train(tuple(params.items()), lr, start, max_epochs)
n_epochs = len(hist["loss"])
m = st.columns(4)
m[0].metric("Stopped at epoch", hist["stop_epoch"] if hist["stop_epoch"] is not None else "did not stop",
            help="Counted from 0 like the tutorial's loop, so it is also the number of SGD steps taken.")
m[1].metric("Final bias", f"{hist['final_bias']:.4f}")
m[2].metric("Last epoch's total squared error", f"{hist['loss'][-1]:.6f}" if math.isfinite(hist["loss"][-1])
            else str(hist["loss"][-1]))
m[3].metric("Epochs run", n_epochs)

if hist["diverged"]:
    st.error("The bias ran away (the loss became huge or not a number). The learning rate is too large for "
             "these weights; try a smaller one.", icon=":material/error:")
elif hist["stuck"]:
    st.warning(
        f"Training is stuck at bias {hist['final_bias']:.4f}: the last ReLU outputs 0 at all three training "
        "points, so its slope, and with it the gradient of the bias, is exactly 0. A step that is too large "
        "threw the bias so far down that no point can pull it back (a 'dead' ReLU). Try a smaller learning rate.",
        icon=":material/warning:")
elif hist["stop_epoch"] is None:
    st.info(f"The total squared error is still above 0.0001 after {n_epochs} epochs: give it more epochs "
            "or a larger learning rate.", icon=":material/hourglass_empty:")
else:
    st.success(f"Converged: after {hist['stop_epoch']} SGD steps the three points are fitted to a total "
               f"squared error below 0.0001, with final bias {hist['final_bias']:.4f}.",
               icon=":material/check_circle:")

is_tutorial = (all(math.isclose(params[n], T[n]) for n in T if n != "final_bias") and lr == 0.1 and start == 0.0
               and max_epochs >= 35)
if is_tutorial:
    printed = lab.TUTORIAL_PRINTOUT
    ran = (f"training stopped after {hist['stop_epoch']} steps with the final bias at {hist['final_bias']:.4f}"
           if hist["stop_epoch"] is not None else f"training did not stop; the final bias is {hist['final_bias']:.4f}")
    verdict = ("the same as the tutorial's printout" if lab.matches_printout(hist)
               else "which differs from the tutorial's printout")
    st.caption(f"With the tutorial's weights and learning rate, {ran}: {verdict} (about {printed['steps']} steps, "
               f"final bias {printed['final_bias']}).")

ui.plot(figs.training_figure(hist, T["final_bias"]), key="fn_train")

st.markdown("**Residuals after training** (target minus prediction at each training point)")
trained = curve(tuple({**params, "final_bias": hist["final_bias"]}.items()))
ui.stat_table([{"dose": d, "target": t, "prediction": t - r, "residual": r}
               for d, t, r in zip(lab.TRAIN_DOSES, lab.TRAIN_EFFECT, res)])
ui.plot(figs.residuals_figure(trained, lab.TRAIN_DOSES, lab.TRAIN_EFFECT, res), key="fn_resid")

ui.explain(
    "The loss of one point is (prediction - target)^2. Calling `backward()` once per point does not "
    "replace the gradient stored in the bias, it **adds** to it, so after three points `bias.grad` holds "
    "the gradient of the whole epoch's loss. One SGD step then moves the bias by `-lr * grad`, and the "
    "gradient is set back to zero before the next epoch.\n\n"
    "Only the middle point pulls on the bias here: at doses 0 and 1 the final ReLU's input is at or below 0, "
    "so the output is a flat 0 and its slope with respect to the bias is 0. At dose 0.5 the gradient is "
    "2 * (prediction - 1); with lr = 0.1 each step removes 20 % of the remaining error, so the bias "
    "creeps towards -16 geometrically: 0, -3.20, -5.76, -7.81, ... The check happens before the step, so "
    "the epoch number printed when training stops equals the number of steps taken.",
    title="Why the bias lands near -16",
)
ui.show_source(lab.train_final_bias)

# ------------------------------------------------------- the nn.Module way
st.subheader("3 · The same training, written the tutorial's way")
st.markdown(
    "The tutorial does not write the loop with a loose bias tensor: it wraps the seven numbers in an "
    "`nn.Module`, freezes six of them with `requires_grad=False`, gives `torch.optim.SGD` the one parameter "
    "that is still trainable, and calls `.detach()` on the model's output before plotting it. Below, that "
    "version runs with the settings above and is compared, epoch by epoch, with the loop of section 2."
)


@st.cache_data(max_entries=200, show_spinner=False)
def train_module(values, lr, start, max_epochs):
    return lab.train_final_bias_module(dict(values), lr=lr, start_bias=start, max_epochs=max_epochs)


mod = train_module(tuple(params.items()), lr, start, max_epochs)
same = lab.compare_loop_and_module(hist, mod)
m = st.columns(4)
m[0].metric("nn.Module: stopped at epoch", mod["stop_epoch"] if mod["stop_epoch"] is not None else "did not stop")
m[1].metric("nn.Module: final bias", f"{mod['final_bias']:.4f}")
m[2].metric("Parameters the optimizer trains", ", ".join(mod["trainable"]),
            help="[name for name, p in model.named_parameters() if p.requires_grad]")
m[3].metric("max |bias (loop) - bias (nn.Module)|", f"{same['max_bias_diff']:.1e}",
            help=f"Largest difference of the bias over the {same['epochs']} epochs both ran.")
st.markdown(f"Same stopping epoch as the hand-written loop: **{'yes' if same['same_stop'] else 'no'}**; "
            f"largest difference of the bias at the start of any of the {same['epochs']} epochs: "
            f"**{same['max_bias_diff']:.1e}**.")
ui.plot(figs.module_figure(trained, mod["curve"], lab.TRAIN_DOSES, lab.TRAIN_EFFECT), key="fn_module")
ui.explain(
    "`model(doses)` returns a tensor that still belongs to the autograd graph (it depends on `final_bias`, "
    "which requires a gradient). `.detach()` gives the same numbers without the graph, which is what a "
    "plotting library needs. Freezing with `requires_grad=False` means autograd computes no gradient for those "
    "six numbers, so even an optimizer handed every parameter could not move them; here it is handed only "
    "the trainable one.",
    title="requires_grad=False and .detach()",
)
ui.show_source(lab.DoseNet, lab.train_final_bias_module, lab.compare_loop_and_module,
               title="The nn.Module version that ran")
frozen = {k: v for k, v in params.items() if k != "final_bias"}
script = exports.fill("t0_first_network", dict(params=frozen, lr=lr, start_bias=start, max_epochs=max_epochs))
ui.download_script(script, "t0_first_network.py", key="fn_dl")
