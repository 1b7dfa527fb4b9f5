"""Chapter 3: softmax, cross-entropy and its gradient for one example; the naive softmax overflowing; MSE compared."""
import math

import numpy as np
import streamlit as st

import exports
import ui
from labs import ch03_cross_entropy as lab
from core import losses
from ui import ch03_figures as figures

L = ui.page("3 · Cross-entropy explorer",
            "Drag the logits: softmax turns them into probabilities, cross-entropy scores them as "
            "-log p(correct), and its gradient says how training will push.", widths=(2, 1))

DEFAULTS = [2.0, 1.0, 0.1, -1.0, 0.5, -0.5, 1.5, -2.0, 0.0, 3.0]
SCALES = [0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0]

with L.more:
    n = ui.slider("Number of classes", 2, 10, 4, key="ce_n")
with L.controls:
    y = ui.selectbox("Correct class", list(range(10)), index=0, key="ce_y",
                     help="Which class the example really belongs to.")
    if y >= n:
        st.warning(f"Class {y} does not exist with {n} classes; using class 0 as the correct one.",
                   icon=":material/warning:")
        y = 0
    slider_cols = st.columns(2)
    z = []
    for i in range(n):
        with slider_cols[i % 2]:
            z.append(ui.slider(f"Logit z{i}", -10.0, 10.0, DEFAULTS[i], step=0.1, key=f"ce_z{i}"))
    scale = ui.select_slider("Scale: multiply every logit by", SCALES, 1.0, key="ce_scale",
                             help=f"Large scales push the logits above {lab.FLOAT32_EXP_LIMIT:.2f}, where exp() "
                                  f"overflows float32 to inf, or all of them below {lab.FLOAT32_EXP_ZERO:.2f}, "
                                  "where every exp() underflows to 0.")


res = lab.explore(z, y, scale)
classes = [str(i) for i in range(n)]  # class labels on the axes

with L.picture:
    ui.plot(figures.probabilities_figure(classes, res["probs"], res["grad"], res["mse_grad"], y, res["p_correct"]),
            key="ce_bars")
    m = st.columns(4) if not ui.presenter() else st.columns(2) * 2   # 2 x 2 where the type is large
    m[0].metric("Cross-entropy loss", f"{res['loss']:.4f}")
    m[1].metric("p(correct class)", f"{res['p_correct']:.4f}")
    m[2].metric("|ours - F.cross_entropy|", f"{res['loss_diff']:.1e}")
    m[3].metric("MSE loss", f"{res['mse_loss']:.4f}",
                help="Mean squared error between the softmax probabilities and the one-hot target.")
    st.caption(f"The correct class ({y}) is in teal. Its gradient is p - 1 = {res['grad'][y]:+.4f} (pushed up "
               "when a step goes against the gradient); every other class gets +p (pushed down). The "
               f"gradient entries sum to {sum(res['grad']):+.1e}.")

# ---------------------------------------------------------------- predict, then try
NAIVE_OUTCOMES = {"ok": 0, "inaccurate": 0, "overflow": 1, "underflow": 1, "sum_overflow": 2}
big = lab.explore(z, y, 1000.0)
naive_at_1000 = ", ".join(f"{v:.3g}" for v in big["naive_probs"])
ui.predict("ch3_naive", "Multiply every logit above by 1000. What does the naive softmax exp(z) / sum(exp(z)) "
           "give?", ["The same probabilities as the stable softmax", "nan in some entries",
                     "Only zeros"], NAIVE_OUTCOMES[big["naive"]["status"]],
           why=f"Computed just now with your logits x 1000: the naive softmax gave [{naive_at_1000}], the stable "
               f"one [{', '.join(f'{v:.3g}' for v in big['probs'])}] (exp overflows float32 above "
               f"{lab.FLOAT32_EXP_LIMIT:.2f}; inf / inf is nan).")

# ---------------------------------------------------------------- the -log(p) curve
c1, c2 = st.columns(2)
with c1:
    p_axis = np.logspace(-4, 0, 200)
    p_shown = max(res["p_correct"], 1e-4)   # off the left edge: drawn at the edge, at its true loss
    ui.plot(figures.loss_curve_figure(p_axis, -np.log(p_axis), p_shown, res["loss"]), key="ce_curve")
    if res["p_correct"] < 1e-4:
        st.caption(f"p(correct) = {res['p_correct']:.1e} is off the left edge; the point sits at the edge, "
                   f"at its true loss {res['loss']:.1f}.")
with c2:
    st.markdown("**Naive vs stable softmax at this scale**")
    fmt = lambda v: f"{v:.4g}"  # noqa: E731  (inf and nan print as themselves)
    ui.stat_table([{"class": c, "z * scale": fmt(zs), "exp(z) (naive)": fmt(e), "naive softmax": fmt(pn),
                    "stable softmax": fmt(ps)}
                   for c, zs, e, pn, ps in zip(classes, res["z"], res["exp_naive"], res["naive_probs"],
                                               res["probs"])], width="stretch")
    nv = res["naive"]  # what happened inside the naive softmax, measured
    stable_note = ("The stable softmax subtracted the largest logit first, so its largest exp is exp(0) = 1 and "
                   "the sum lies between 1 and the number of classes: nothing overflows and nothing divides by 0.")
    if nv["status"] == "ok":
        st.success(f"At this scale the naive softmax still works: it agrees with the stable softmax to within "
                   f"{nv['max_diff']:.1e} (z from {nv['min_z']:.1f} to {nv['max_z']:.1f}; exp(z) overflows float32 "
                   f"above {lab.FLOAT32_EXP_LIMIT:.2f}).", icon=":material/check_circle:")
    elif nv["status"] == "overflow":
        rest = (f" The other {nv['n_classes'] - nv['n_inf']} came out as a finite number / inf = 0."
                if nv["n_inf"] < nv["n_classes"] else "")
        st.error(f"The naive softmax broke by **overflow**: exp(z) was inf for {nv['n_inf']} of the "
                 f"{nv['n_classes']} logits (the largest, z = {nv['max_z']:.1f}, is above "
                 f"{lab.FLOAT32_EXP_LIMIT:.2f}), so the sum was inf and each of those entries is inf / inf = nan."
                 f"{rest} {stable_note}", icon=":material/error:")
    elif nv["status"] == "sum_overflow":
        st.error(f"The naive softmax broke without a single inf: every exp(z) fits in float32 (the largest logit, "
                 f"z = {nv['max_z']:.1f}, is below {lab.FLOAT32_EXP_LIMIT:.2f}), but their sum does not. The sum "
                 f"was inf, so every entry came out as a finite number / inf = 0. {stable_note}",
                 icon=":material/error:")
    elif nv["status"] == "underflow":
        st.error(f"The naive softmax broke by **underflow**: exp(z) was exactly 0 for all {nv['n_classes']} "
                 f"logits (even the largest, z = {nv['max_z']:.1f}, is below {lab.FLOAT32_EXP_FLOOR:.2f}, where "
                 f"exp(z) is smaller than the smallest positive float32), so the sum was 0 and 0 / 0 = nan. "
                 f"{stable_note}", icon=":material/error:")
    else:  # inaccurate
        why = (f" Every exp(z) here is below the smallest normal float32 (exp({lab.FLOAT32_EXP_NORMAL_FLOOR:.2f})), "
               "where float32 keeps fewer significant digits." if nv["max_z"] < lab.FLOAT32_EXP_NORMAL_FLOOR else "")
        st.warning(f"The naive softmax returned numbers, but they are off by up to {nv['max_diff']:.1e} from the "
                   f"stable softmax (largest logit z = {nv['max_z']:.1f}).{why} {stable_note}",
                   icon=":material/warning:")

# ---------------------------------------------------------------- CE vs MSE when confidently wrong
st.subheader("Why not mean squared error? Slide the correct logit from very wrong to very right")
sweep = lab.sweep_correct(z, y, np.linspace(-15, 15, 121))
ce_push, mse_push = abs(sweep["ce_grad"][0]), abs(sweep["mse_grad"][0])
ui.predict("ch3_mse", "The network is confidently wrong: the correct logit at -15, the others as set above. Which "
           "loss still pushes hard on the correct logit?", ["Cross-entropy", "MSE on the probabilities",
                                                           "Both about equally"],
           0 if ce_push > 10 * mse_push else 1 if mse_push > 10 * ce_push else 2,
           why=f"Computed just now at logit -15: cross-entropy's gradient on it is {sweep['ce_grad'][0]:+.3f}, "
               f"MSE's {sweep['mse_grad'][0]:+.1e}"
               + (": the softmax is flat out there, so MSE's push has all but vanished. " if ce_push > 10 * mse_push
                  else ". ") + "The sweep below shows both along the whole range.")
st.caption("The other logits stay at their slider values (unscaled) while the correct one slides.")
ui.plot(figures.sweep_figure(sweep), key="ce_sweep")
k = 0  # the most wrong point of the sweep
ui.stat_table([{"correct logit": sweep["value"][k], "p(correct)": f"{sweep['p_correct'][k]:.2e}",
                "cross-entropy": round(sweep["ce_loss"][k], 4), "CE gradient": round(sweep["ce_grad"][k], 6),
                "MSE": round(sweep["mse_loss"][k], 4), "MSE gradient": f"{sweep['mse_grad'][k]:.2e}"}])
st.caption("When the network is confidently wrong (left end), cross-entropy's gradient on the correct logit is "
           "close to -1, a full-strength push; the MSE gradient has almost vanished, because the softmax is "
           "flat out there and MSE's loss is capped at a small number. That is why classifiers use cross-entropy.")

ui.download_script(exports.fill("ch03_cross_entropy", dict(logits=list(z), target=y, scale=scale)),
                   "ch03_cross_entropy.py", key="ce_download")
st.caption("The script recomputes the loss, p(correct), the check against F.cross_entropy and the MSE above "
           "with the `core` package (run it from the repository root).")

ui.explain(
    "**Softmax** exponentiates each logit and divides by the total, so the outputs are positive and sum to 1. "
    "Adding the same number to every logit changes nothing, because it multiplies every exp by the same "
    "factor, which cancels in the division.\n\n"
    f"**Overflow and underflow.** float32 cannot hold exp(z) for z above {lab.FLOAT32_EXP_LIMIT:.2f}: it becomes "
    f"inf, and inf / inf is nan. Below {lab.FLOAT32_EXP_FLOOR:.2f} exp(z) is smaller than the smallest positive "
    f"float32, and below {lab.FLOAT32_EXP_ZERO:.2f} it rounds to 0; when that happens to every logit the sum is 0, "
    "and 0 / 0 is nan too. "
    "The stable softmax subtracts the largest logit before exponentiating (allowed, by the point above): the "
    "largest exp is then exactly 1, the others lie between 0 and 1, and the sum is at least 1.\n\n"
    "**Cross-entropy** only looks at the probability of the correct class: -log(p). Certain and right "
    f"(p = 1) costs 0; p = 0.5 costs -log(0.5) = {-math.log(0.5):.2f}; certain and wrong costs without limit. "
    "Its gradient with respect "
    "to the logits is simply softmax(z) - one_hot(y). For a batch of B examples the loss is the mean, so "
    "each row's gradient is divided by B; here B = 1.\n\n"
    "**The check.** The metric `|ours - F.cross_entropy|` compares our loss with PyTorch's built-in on the "
    "very logits above, at every scale."
)
ui.show_source(losses.naive_softmax, losses.softmax, losses.log_softmax, losses.cross_entropy_per_example,
               losses.cross_entropy, losses.cross_entropy_grad, lab.softmax_vjp, lab.mse_on_softmax, lab.explore,
               lab.sweep_correct)

ui.quiz(
    "ch3",
    "Before exponentiating, a softmax implementation subtracts the row's largest logit. Why?",
    ["It makes the probabilities sum to 1",
     "It keeps every exp() at or below 1 so large logits cannot overflow, and the result is unchanged",
     "It makes the loss smaller so training converges faster",
     "It turns negative logits into positive ones"],
    answer=1,
    why="Subtracting a constant from every logit multiplies numerator and denominator by the same factor, so "
        "the probabilities do not change; but the largest exponent becomes exp(0) = 1, so nothing overflows.",
)
