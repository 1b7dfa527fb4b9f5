"""Tutorial 002: linear regression y = w x + b with autograd and hand-written updates."""
import math

import streamlit as st

import exports
import ui
from labs import t2_linear_regression as lab
from ui import t2_figures

L = ui.page("Linear regression by hand",
            "Two numbers w and b, autograd and a hand-written update: the smallest complete training loop.",
            controls="top")
with L.controls:
    lr = ui.select_slider("Learning rate", [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 0.5, 0.8, 1.0, 1.2, 1.5, 2.0],
                          0.1, key="lr_lr", width=220)
    steps = ui.slider("Steps", 1, 500, 100, key="lr_steps", width=220)
    forget = ui.toggle("Skip grad.zero_()", False, key="lr_forget",
                       help="forget to zero the gradients: remove `w.grad.zero_()` and `b.grad.zero_()`")
with L.more:
    true_w = ui.slider("True w", -5.0, 5.0, 2.0, step=0.1, key="lr_w")
    true_b = ui.slider("True b", -5.0, 5.0, -1.0, step=0.1, key="lr_b")
    noise = ui.slider("Noise (std)", 0.0, 3.0, 0.3, step=0.05, key="lr_noise")
    seed = ui.seed("lr_seed")

@st.cache_data(max_entries=300, show_spinner=False)
def run(true_w, true_b, noise, lr, steps, seed):
    """Both loops (with and without zeroing) on the same data: pure function of the widget values."""
    x, y = lab.make_data(true_w, true_b, noise, seed=seed)
    right = lab.train_manual(x, y, lr, steps, zero_grad=True)
    wrong = lab.train_manual(x, y, lr, steps, zero_grad=False)
    return {"x": x.numpy(), "y": y.numpy(), "right": right, "wrong": wrong, "curvature": lab.curvature(x)}


r = run(true_w, true_b, noise, lr, steps, seed)
curv = r["curvature"]  # how sharply this data's MSE curves, and the largest stable lr
hist = r["wrong"] if forget else r["right"]
verdict = lab.verdict(hist)


def fmt(v, digits=4):
    return f"{v:.{digits}f}" if math.isfinite(v) and abs(v) < 1e6 else f"{v:.3g}"


m = st.columns(4)
m[0].metric("Learned w", fmt(hist["final_w"]), delta=None, help=f"true w = {true_w:g}")
m[1].metric("Learned b", fmt(hist["final_b"]), help=f"true b = {true_b:g}")
m[2].metric("Last MSE", fmt(hist["loss"][-1], 6))
m[3].metric("Steps run", len(hist["loss"]))

if verdict == "diverged":
    st.error(f"Diverged at step {hist['diverged']}: the loss passed {lab.DIVERGED_LOSS:.0e} (or became "
             "inf / nan). Each step overshoots the minimum by more than it corrects, so w and b swing further "
             "out every time. Lower the learning rate.", icon=":material/error:")
elif verdict == "grew":
    st.error("The loss is larger now than at the start: this run is blowing up. "
             + ("The gradients are never reset, so every step also repeats all the old steps."
                if forget else "The learning rate is too large for this data."), icon=":material/trending_up:")
elif verdict == "unstable":
    st.warning("The loss went down and then back up (or keeps bouncing): the steps are too large to settle. "
               + ("Forgetting `zero_()` makes the steps grow with every iteration." if forget
                  else "Try a smaller learning rate."), icon=":material/warning:")
elif verdict == "oscillating":
    st.warning("Not converging: the gradient keeps flipping sign, so each step jumps over the minimum "
               f"to the other side and back. With this data a step is stable only for lr < {curv['lr_limit']:.4f} "
               "(2 / the sharpest curvature, explained below); go below it.",
               icon=":material/swap_vert:")
elif verdict == "moving":
    st.info(f"Still on the way: the loss is falling but the gradient is not small yet after {len(hist['loss'])} "
            "steps. Give it more steps or a larger learning rate.", icon=":material/hourglass_empty:")
else:
    st.success(f"Converged: w = {hist['final_w']:.3f}, b = {hist['final_b']:.3f} "
               f"(the data were made with w = {true_w:g}, b = {true_b:g} plus noise).",
               icon=":material/check_circle:")

# ---------------------------------------------------------------- pictures
right, wrong = r["right"], r["wrong"]
with L.picture:
    ui.plot(t2_figures.runs_figure(r["x"], r["y"], right, wrong, forget, true_w, true_b), key="lr_fig")
if any(v == 0 for h in (right, wrong) for v in h["loss"]):
    st.caption("Some steps reached an MSE of exactly 0 (the line fits noise-free data perfectly): a log scale "
               "cannot show 0, so the MSE curve has a gap there.")

hot = run(true_w, true_b, noise, 1.5, steps, seed)["right"]
hot_verdict = lab.verdict(hot)
ui.predict("t2_lr_1_5", f"Set the learning rate to 1.5 ({steps} steps, grad.zero_() kept). What will the loss do?",
           ["Fall and settle", "Bounce around or blow up"],
           answer=0 if hot_verdict in ("converged", "moving") else 1,
           why=(f"With this data a step is stable only for lr < {curv['lr_limit']:.4f} (2 / the sharpest curvature). "
                f"At lr 1.5 the MSE went from {fmt(hot['loss'][0], 6)} to {fmt(hot['loss'][-1], 6)} in "
                f"{len(hot['loss'])} steps: the page's verdict is '{hot_verdict}'. Set the learning rate to 1.5 "
                "above to watch it."))
st.markdown(
    "A prediction `w * x + b`, the mean squared error, `loss.backward()`, an update inside "
    "`torch.no_grad()` and `grad.zero_()`. Below, each hand-written step is swapped for the torch "
    "piece that replaces it, and the two are compared number for number.")
ui.stat_table([{"loop": name, "final w": h["final_w"], "final b": h["final_b"], "last MSE": h["loss"][-1],
                "w.grad at the last step": h["w_grad"][-1], "verdict": lab.verdict(h)}
               for name, h in (("with grad.zero_()", right), ("without grad.zero_()", wrong))])

ui.explain(
    "`loss.backward()` does not *set* `w.grad`, it *adds* the new gradient to whatever is stored there. "
    "With `zero_()` after every update, the stored value is just this step's gradient. Without it, "
    "step t uses the sum of all t gradients so far: while the gradient keeps pointing the same way the "
    "steps get longer and longer, the line overshoots the data, and then the accumulated sum needs many "
    "steps to turn around. The (w, b) path spirals or zig-zags instead of walking straight to the black "
    "cross, and with a larger learning rate it flies off altogether.\n\n"
    "Even with zeroing, plain gradient descent has a speed limit. The MSE curves up with slope-of-slope "
    f"2 along b and 2 * mean(x^2) = {curv['along_w']:.3f} along w for this data (x is drawn from [-1, 1]). "
    f"Because mean(x) = {curv['mean_x']:+.3f} is not exactly 0, the two directions mix a little: the sharpest "
    f"curvature is {curv['sharpest']:.4f}, the gentlest {curv['gentlest']:.4f}. A step is stable only when lr "
    f"times the sharpest curvature stays below 2: lr < {curv['lr_limit']:.4f} here. Right at that limit the "
    "steps swing from side to side without settling; above it every swing is bigger than the last and the "
    "loss explodes, slowly just above the limit and fast further up. The page flags both.",
    title="What goes wrong without zero_()",
)
ui.show_source(lab.make_data, lab.mse, lab.train_manual)

# ---------------------------------------------------------------- mapping table
TOL = 1e-6  # largest difference that still counts as the same
st.subheader("From hand-written steps to torch abstractions")
st.caption("Each row runs the manual step and its torch replacement on the same data and the same "
           "starting w = 0.5, b = -0.25, and prints the largest difference. "
           f"Tolerance for the tick: {TOL:g}.")


@st.cache_data(max_entries=100, show_spinner=False)
def mapping(true_w, true_b, noise, lr, seed):
    x, y = lab.make_data(true_w, true_b, noise, seed=seed)
    return lab.mapping_checks(x, y, lr=min(lr, 1.0)) + [lab.whole_loop_check(x, y, min(lr, 1.0), 50)]


rows = mapping(true_w, true_b, noise, lr, seed)
st.markdown("| manual step | torch abstraction | max abs diff | same? |\n|---|---|---|---|\n" + "\n".join(
    f"| `{row['manual']}` | `{row['torch']}` | {row['max_abs_diff']:.1e} | "
    + (":material/check: equal |" if row["max_abs_diff"] <= TOL else ":material/close: differs |")
    for row in rows))
worst = max(row["max_abs_diff"] for row in rows)
st.metric("Largest difference in the table", f"{worst:.1e}")
if lr > 1.0:
    st.caption("The table uses lr = 1.0 at most, so that both loops stay finite and can be compared.")
ui.explain(
    "`nn.Linear(1, 1)` holds the same two numbers (as `weight [1, 1]` and `bias [1]`) and computes "
    "`x @ weight.T + bias`, which for one input is `w * x + b`. `nn.MSELoss()` is the mean of squared "
    "differences. `optimizer.step()` does `p -= lr * p.grad` for every parameter, inside no_grad, and "
    "`optimizer.zero_grad()` clears the gradients (it sets them to None, and the next `backward()` "
    f"creates them afresh). The differences in the table, at most {worst:.1e} here, come only from float32 "
    "rounding in a different order.",
    title="Why the rows agree",
)
ui.show_source(lab.mapping_checks, lab.whole_loop_check)
if math.isfinite(hist["final_w"]) and math.isfinite(hist["final_b"]):
    st.download_button("Download the fitted weights (state_dict of nn.Sequential(nn.Linear(1, 1)))",
                       lab.weights_file(hist["final_w"], hist["final_b"]), file_name="linear_regression.pt",
                       mime="application/octet-stream", icon=":material/download:", key="lr_dl_weights")
script = exports.fill("t2_linear_regression", dict(true_w=true_w, true_b=true_b, noise=noise, lr=lr, steps=steps,
                                                   seed=seed, zero_grad=not forget))
ui.download_script(script, "t2_linear_regression.py", key="lr_dl")
