"""Chapter 9: CPU vs GPU throughput, measured for real on the machine serving this page."""
import math
import os
import threading
import time

import plotly.graph_objects as go
import streamlit as st
import torch

import exports
import ui
from labs import ch09_gpu as gpu_model
from labs import ch09_gpu as throughput

REMEASURE_EVERY_S = 30  # per server: at most one new measurement every 30 s, whoever asks

L = ui.page("9 · CPU vs GPU", "The same from-scratch loop on another device: whether it pays depends on the "
            "work per call. Timed live on this server.")

with L.controls:
    op = ui.segmented("Workload", ["train step", "matmul"], "train step", key="gpu_op",
                      help="train step = forward + hand-written backward + SGD on 784-128-10; "
                           "matmul = x [B, 784] @ W1 [784, 128].")
    unit = ui.segmented("Rate", ["samples/s", "GFLOP/s"], "samples/s", key="gpu_unit")
    again = st.button("Measure again", key="gpu_remeasure", icon=":material/refresh:",
                      help=f"Time this server again (at most once every {REMEASURE_EVERY_S} s, for everyone).")
with L.more:
    launch_us = ui.select_slider("Launch overhead per kernel (us, model)",
                                 list(gpu_model.LAUNCH_OVERHEAD_US), gpu_model.DEFAULT_LAUNCH_US, key="gpu_launch",
                                 help="An assumption of the GPU model, not a datasheet figure: the time to start one "
                                      "GPU kernel, in microseconds.")
    copy_batch = ui.toggle("Copy each batch over PCIe (model)", True, key="gpu_copy",
                           help="A training loop whose data sits in the computer's memory copies every batch to "
                                "the GPU.")


# ------------------------------------------------ one measurement per server
@st.cache_resource
def shared_measurement():
    """One slot for the whole server: {"lock", "result", "at"}.

    Every session reads the same result; only the session holding the lock replaces it (with a new
    dict, never by editing the old one), so 30 students opening the page at once cause one measurement.
    """
    return {"lock": threading.Lock(), "result": None, "at": 0.0}


def ensure_measured(slot, force=False):
    """Measure if nothing was measured yet (or on request, at most every REMEASURE_EVERY_S seconds)."""
    if slot["result"] is not None and not force:
        return
    if not slot["lock"].acquire(blocking=False):
        with st.spinner("Someone else's measurement is running on this server; waiting for it..."):
            with slot["lock"]:
                pass
        return
    try:
        stale = slot["result"] is None or time.time() - slot["at"] >= REMEASURE_EVERY_S
        if stale:
            bar = st.progress(0.0, text="Measuring...")
            result = throughput.measure_all(progress=lambda f, text: bar.progress(min(f, 1.0), text=text))
            slot["result"], slot["at"] = result, time.time()
            bar.empty()
    finally:
        slot["lock"].release()


slot = shared_measurement()
if again and slot["result"] is not None and time.time() - slot["at"] < REMEASURE_EVERY_S:
    wait = REMEASURE_EVERY_S - (time.time() - slot["at"])
    L.controls.info(f"The last measurement is only {time.time() - slot['at']:.0f} s old; this server measures at "
                    f"most once every {REMEASURE_EVERY_S} s, so try again in {wait:.0f} s.", icon=":material/timer:")
    again = False
with L.picture:
    ensure_measured(slot, force=again)   # the first visitor's progress bar shows where the chart will be
result = slot["result"]
age = time.time() - slot["at"]

reference = throughput.load_reference()

key = "samples_per_s" if unit == "samples/s" else "gflops"


@st.cache_data(max_entries=50, show_spinner=False)
def gpu_models(launch_us, copy_batch):
    """The roofline model's sweep for every named GPU (a pure function of the two assumptions)."""
    return {name: gpu_model.model_sweep(name, launch_us=launch_us, copy_batch=copy_batch) for name in gpu_model.GPUS}


models = gpu_models(launch_us, copy_batch)

# sweeps to show: (label, sweep, line style)
series = [(f"this server, {d}", result["sweeps"][d], "solid") for d in result["devices"]]
if reference:
    when = reference["recorded_utc"][:10]
    series.append((f"reference GPU: {reference['device_name']} ({when})", reference["gpu"], "dash"))
    series.append((f"reference machine's CPU, {reference['cpu']['threads']} threads ({when})",
                   reference["cpu"], "dot"))
model_series = [(f"model: {name} (roofline estimate, not measured)", sweep, "dashdot")
                for name, sweep in models.items()]

with L.picture:
    # ------------------------------------------------------------------ the sweep
    fig_title = f"Throughput of one {op}, by batch size"
    fig = go.Figure(layout=dict(title=fig_title))
    for i, (label, sweep, dash) in enumerate(series + model_series):
        rates = throughput.rate_table(sweep, op, key)
        fig.add_scatter(x=list(rates), y=list(rates.values()), mode="lines+markers", name=label,
                        line=dict(dash=dash, width=3, color=ui.PALETTE[i % len(ui.PALETTE)]))
    fig.add_vline(x=64, line=dict(color=ui.COLORS["neutral"], dash="dot"))
    # (annotations on a log axis are placed by log10 of the value)
    fig.add_annotation(x=math.log10(64), y=1, yref="paper", text="the lesson's batch of 64", showarrow=False,
                       xanchor="left", yanchor="top", font=dict(color=ui.COLORS["neutral"]))
    fig.update_layout(height=420, xaxis=dict(title="batch size B"), yaxis=dict(title=unit),
                      legend=dict(orientation="h", y=-0.2))
    ui.clean_log_axis(fig, "x")   # ticks 1, 10, 100, 1000 only
    ui.clean_log_axis(fig, "y")
    ui.plot(fig, key="gpu_sweep")
    st.caption(f"Measured {age:.0f} s ago on this server, in {result['seconds']:.2f} s, on: "
               + ", ".join(f"`{d}` ({result['sweeps'][d]['device_name']})" for d in result["devices"])
               + ". Each number is the best of 3 timing rounds; "
               "*model* lines are roofline estimates, not measurements.")


with L.below:
    # ---------------------------------------------------------------- this machine
    cuda, mps = torch.cuda.is_available(), throughput.devices().count("mps") > 0
    c = st.columns(4)
    c[0].metric("CPU cores", os.cpu_count())
    c[1].metric("Threads torch uses", torch.get_num_threads(),
                help="torch.get_num_threads(). This app runs every computation on one thread, so that 30 students "
                     "share the cores fairly.")
    c[2].metric("CUDA GPU", "yes" if cuda else "no", help="torch.cuda.is_available()")
    c[3].metric("Apple MPS GPU", "yes" if mps else "no", help="torch.backends.mps.is_available()")
    if not (cuda or mps):
        st.info("This machine has no GPU: `torch.cuda.is_available()` and `torch.backends.mps.is_available()` "
                "are both False, so only the CPU can be measured here. Every GPU number below is either a "
                "**roofline model** computed from datasheet figures (labelled *model*) or, if present, a measurement "
                "recorded elsewhere by `bench/gpu_reference.py` (labelled *reference*).", icon=":material/memory:")


st.subheader(fig_title)   # the numbers behind the chart
rows = []
for label, sweep, _ in series:
    for row in sweep["rows"]:
        if row["op"] == op:
            rows.append({"measured on": label, "batch": row["batch"], "work": row["shape"],
                         "ms per call": round(row["seconds"] * 1e3, 4),
                         "samples/s": round(row["samples_per_s"]), "GFLOP/s": round(row["gflops"], 2)})
ui.stat_table(rows, width="stretch")

local_cpu = result["sweeps"]["cpu"]
lesson = {r["op"]: r for r in local_cpu["rows"] if r["batch"] == 64}


def race_prompt(batch, name):
    """Predict, then try: at this batch, does this CPU (measured) or the model's GPU train more samples/s?"""
    cpu_rate = throughput.rate_table(local_cpu, "train step")[batch]
    gpu_rate = throughput.rate_table(models[name], "train step")[batch]
    ratio = gpu_rate / cpu_rate
    ui.predict(f"ch09_b{batch}", f"Batch {batch:,}, training steps: which trains more samples per second, this "
               f"server's CPU or the model's {name}?", ["This CPU", f"The {name}", "About the same"],
               answer=2 if 0.8 <= ratio <= 1.25 else 1 if ratio > 1 else 0,
               why=f"At batch {batch:,} this CPU measured {cpu_rate:,.0f} samples/s and the roofline model of the "
                   f"{name} estimates {gpu_rate:,.0f} ({ratio:.2g}x): "
                   + ("kernel launches, not arithmetic, set the GPU's pace here." if ratio < 1 else
                      "each launch now carries enough work for the GPU's arithmetic to pay."))


with L.below:
    first_gpu = next(iter(models))
    p1, p2 = st.columns(2)
    with p1:
        race_prompt(1, first_gpu)
    with p2:
        race_prompt(max(throughput.rate_table(local_cpu, "train step")), first_gpu)
c = st.columns(3)
c[0].metric("This CPU: 64 x 784 @ 784 x 128", f"{lesson['matmul']['seconds'] * 1e3:.3f} ms",
            help=f"{throughput.matmul_flops(*throughput.LESSON_MATMUL) / 1e6:.1f} million floating-point operations")
c[1].metric("This CPU: train step, batch 64", f"{lesson['train step']['seconds'] * 1e3:.3f} ms")
c[2].metric("This CPU: samples/s training", f"{lesson['train step']['samples_per_s']:,.0f}")
ui.download_script(exports.fill("ch09_gpu", dict(threads=torch.get_num_threads())), "ch09_gpu.py",
                   key="gpu_dl_script", label="Download as a Python script: measure your own machine")
st.caption("The script runs this same measurement (`labs.ch09_gpu.measure_all`, run it from the repository root) "
           "on the computer you run it on, with every device torch finds there, and prints the tables above "
           "for both workloads. Its numbers are your machine's, not this server's.")

# ------------------------------------------------------------ the GPU model
st.subheader("A model of the GPU, from datasheet figures")
st.markdown(
    ("This server has a GPU, measured above with `synchronize`; next to it the page also **estimates** GPUs it "
     "does not have. " if cuda or mps else "With no GPU to time, the page **estimates** one. ")
    + "It runs the very training step timed above on torch's "
    "`meta` device, which records every operation with its shapes and computes nothing, and counts the "
    "kernels the step would launch, the floating-point operations of each and the bytes each reads and "
    "writes. Each kernel then takes *max(FLOPs / peak FLOP/s, bytes / memory bandwidth) + launch overhead*, "
    "and copying the batch over PCIe adds *bytes / PCIe bandwidth*. These are estimates, not measurements."
)
spec_rows = [{"GPU": name, "FP32 peak (TFLOP/s)": g["fp32_tflops"], "memory bandwidth (GB/s)": g["memory_gb_s"],
              "PCIe": f"Gen{g['pcie_gen']} x{g['pcie_lanes']}",
              "PCIe, one direction (GB/s)": round(gpu_model.pcie_gb_s(g["pcie_gen"], g["pcie_lanes"]), 2),
              "datasheet says": g["note"]} for name, g in gpu_model.GPUS.items()]
ui.stat_table(spec_rows, width="stretch")
st.caption("Sources of the datasheet figures: "
           + "; ".join(f"{name}: " + ", ".join(g["sources"]) for name, g in gpu_model.GPUS.items())
           + ". PCIe one direction = transfers per second per lane (Gen3 8, Gen4 16, Gen5 32 GT/s) x lanes x "
           "128/130 (encoding) / 8 bits. "
           f"Launch overhead: **{launch_us} microseconds per kernel, an assumption** you can change under "
           "*More controls*; quoted figures run from about 5 to 50 microseconds ("
           + ", ".join(gpu_model.LAUNCH_SOURCES) + ").")
cpu_rates = throughput.rate_table(local_cpu, op)
model_rows = []
for name, sweep in models.items():
    for row in sweep["rows"]:
        if row["op"] != op:
            continue
        e = row["estimate"]
        model_rows.append({
            "GPU (model)": name, "batch": row["batch"], "kernels": e["kernels"], "MFLOP": round(e["flops"] / 1e6, 3),
            "MB moved": round(e["bytes"] / 1e6, 3), "arithmetic (us)": round(e["compute_s"] * 1e6, 2),
            "memory (us)": round(e["memory_s"] * 1e6, 2), "launches (us)": round(e["launch_s"] * 1e6, 1),
            "PCIe copy (us)": round(e["copy_s"] * 1e6, 2), "total (us)": round(e["total_s"] * 1e6, 1),
            "samples/s (model)": round(row["samples_per_s"]),
            "this CPU, measured samples/s": round(cpu_rates[row["batch"]]) if row["batch"] in cpu_rates else None,
            "bound by": e["bound_by"]})
ui.stat_table(model_rows, width="stretch")
one = models[next(iter(models))]["rows"]
kernels_per_op = {r["op"]: r["estimate"]["kernels"] for r in one}
st.caption(f"Counted from the code: one {op} launches {kernels_per_op[op]} kernels "
           f"({kernels_per_op[op] * launch_us} microseconds of launch overhead at the assumed {launch_us} per kernel, "
           "whatever the batch size). Assumed: each operation other than a view or a bare allocation is one kernel, "
           "reads all its inputs and "
           "writes all its outputs in GPU memory, nothing overlaps, and the GPU reaches its datasheet peak; real "
           "GPUs reach less, so the model is optimistic about arithmetic and pessimistic about overlap.")

# ------------------------------------------------------- where the GPU wins
st.subheader("Where does the GPU overtake the CPU?")
gpus_here = [d for d in result["devices"] if d != "cpu"]
for d in gpus_here:
    B = throughput.crossover(local_cpu, result["sweeps"][d], op)
    st.markdown(f"- On this server, `{d}` beats the CPU for a {op} "
                + (f"from **batch {B}** on." if B else "at **none** of the measured batch sizes."))
if reference:
    B = throughput.crossover(reference["cpu"], reference["gpu"], op)
    st.markdown(f"- On the reference machine, its {reference['device_name']} beats its own CPU "
                + (f"from **batch {B}** on." if B else "at **none** of the measured batch sizes."))
    B = throughput.crossover(local_cpu, reference["gpu"], op)
    st.markdown("- Against this server's CPU (one thread), the reference GPU wins "
                + (f"from **batch {B}** on." if B else "at **none** of the measured batch sizes.")
                + " (Different machines: a rough comparison.)")
rule_B = gpu_model.rule_of_thumb_batch()
crossings = {name: gpu_model.model_crossover(local_cpu, sweep, op) for name, sweep in models.items()}
for name, (lose, win) in crossings.items():
    where = (f"loses up to **batch {lose}** and wins from **batch {win}** on" if lose and win
             else f"wins at every measured batch, from **batch {win}**" if win
             else "loses at **every** measured batch")
    st.markdown(f"- **Model**, {name} against this server's measured CPU, for a {op}: the GPU {where}.")
st.markdown(
    f"The seed lesson's rule of thumb says the GPU wins once *batch x features > 10,000*: with "
    f"{throughput.SIZES[0]} input features that is **batch {rule_B}** and up. "
    + " ".join(
        f"For the model's {name} the switch lies "
        + (f"between batch {lose} and {win}" if lose and win else f"at or below batch {win}" if win
           else "beyond every measured batch")
        + (f" (the rule's {rule_B} is {'inside' if (lose or 0) < rule_B <= (win or 0) else 'outside'} that range)."
           if win else ".")
        for name, (lose, win) in crossings.items())
    + f" Where the GPU loses, the model table above says why: at small batches the step is bound by its "
    f"{kernels_per_op[op]} kernel launches, not by arithmetic.")
if not gpus_here and not reference:
    st.warning("No GPU here and **no reference GPU measurement recorded yet** (`bench/gpu_reference.json` "
               "is missing), so no measured GPU can be compared: the lines above are the model's estimate. Run "
               "`python bench/gpu_reference.py` on a machine with a GPU to record one.",
               icon=":material/help:")

# ------------------------------------------------------------ the sync mistake
st.subheader("The mistake: timing a GPU without synchronize")
sync_rows = [{"measured on": f"this server, {d}", "work": f"{s['calls']} x {s['size']}",
              "with synchronize (ms)": round(s["with_sync_s"] * 1e3, 3),
              "without (ms)": round(s["without_sync_s"] * 1e3, 3), "ratio": round(s["ratio"], 2)}
             for d, s in result["sync"].items()]
if reference:
    for name, s in reference["sync"].items():
        sync_rows.append({"measured on": f"reference GPU ({name} size)", "work": f"{s['calls']} x {s['size']}",
                          "with synchronize (ms)": round(s["with_sync_s"] * 1e3, 3),
                          "without (ms)": round(s["without_sync_s"] * 1e3, 3), "ratio": round(s["ratio"], 2)})
ui.stat_table(sync_rows, width="stretch")
if not gpus_here:
    st.caption("On a CPU the two timings agree up to noise: every operation has finished when Python gets "
               "control back, so forgetting `synchronize` changes nothing here. The mistake only shows on a GPU, "
               "where `x @ W` just queues the work"
               + (": see the reference rows." if reference else "; no GPU measurement is available to show it."))

# -------------------------------------------------------------- the animation
st.subheader("Samples trained in the same time")
# each bar: (label, sweep, batch size of its steps); rates come from the sweep's row at that batch
bars = [(f"{label}, batch 64", sweep, 64) for label, sweep, _ in series]
bars += [(f"model: {name}, batch 64", sweep, 64) for name, sweep in models.items()]
bars.append(("this server, cpu, batch 1 (the same samples one at a time)", local_cpu, 1))
race = throughput.race_rates(bars)
rates = {label: r["samples_per_s"] for label, r in race.items()}
slowest = min(rates.values())
duration = 20 * 64 / slowest  # long enough for the slowest bar to train 20 x 64 samples
times, counts = throughput.batches_done(rates, duration, frames=40)
labels = list(rates)
top = max(c[-1] for c in counts.values()) * 1.15 + 1


def _bars(k):
    return go.Bar(y=labels, x=[counts[lab][k] for lab in labels], orientation="h",
                  text=[f"{counts[lab][k]:,}" for lab in labels], textposition="outside",
                  marker_color=[ui.PALETTE[i % len(ui.PALETTE)] for i in range(len(labels))])


anim = go.Figure(
    data=[_bars(0)],
    frames=[go.Frame(data=[_bars(k)], name=str(k)) for k in range(len(times))],
)
anim.update_layout(
    height=260 + 50 * len(labels), xaxis=dict(range=[0, top], title="samples trained"),
    yaxis=dict(autorange="reversed", domain=[0.45, 1]), showlegend=False,  # the lower part holds the controls
    updatemenus=[dict(type="buttons", direction="left", x=0, y=0.22, xanchor="left", yanchor="top", buttons=[
        dict(label="Play", method="animate",
             args=[None, dict(frame=dict(duration=100, redraw=True), fromcurrent=True, transition=dict(duration=0))]),
        dict(label="Pause", method="animate", args=[[None], dict(mode="immediate", frame=dict(duration=0))])])],
    sliders=[dict(active=0, x=0.18, len=0.82, y=0.3, yanchor="top", currentvalue=dict(prefix="elapsed: "),
                  steps=[
        dict(label=f"{t * 1e3:.1f} ms", method="animate",
             args=[[str(k)], dict(mode="immediate", frame=dict(duration=0, redraw=True))])
        for k, t in enumerate(times)])],
)
ui.plot(anim, key="gpu_race")
st.caption(f"Press Play: {duration * 1e3:.1f} ms of real time, slowed down. Each bar advances at its rate of "
           "from-scratch training steps times the samples each step trains; bars marked *model* run at the "
           "roofline model's estimate, the others at measured rates; the last bar trains one sample per step ("
           + "; ".join(f"{lab}: {r['steps_per_s']:,.0f} steps/s of batch {r['batch']} = "
                       f"{r['samples_per_s']:,.0f} samples/s" for lab, r in race.items()) + ").")

step_b1_us = 1e6 / throughput.rate_table(local_cpu, "train step")[1]  # one step of batch 1 trains 1 sample
launch_total_us = kernels_per_op["train step"] * launch_us
sync_shown = ("the synchronize table above shows the gap on a real GPU" if gpus_here or reference
              else "no GPU here or in a reference file shows by how much, so the page does not guess")
ui.explain(f"""
- **The one change**: create the tensors on the GPU (`device="cuda"`, or `.to("cuda")` for ones you already
  have): `W1 [784, 128]`, `b1 [128]`, `W2 [128, 10]`, `b2 [10]` and each batch `x [64, 784]`, `y [64]`.
  Forward, backward and the update then run there unchanged: `labs.ch09_gpu.make_train_step` calls the
  very same `core` functions with a `device` argument.
- **Work per call**: `x @ W1` for a batch of 64 is 64 x 784 x 128 =
  {throughput.matmul_flops(*throughput.LESSON_MATMUL) // 2:,} multiply-adds. A GPU has thousands of arithmetic
  units, but starting each kernel costs time whatever its size. One training step launches
  {kernels_per_op["train step"]} kernels (counted above); at the assumed {launch_us} microseconds each that is
  {launch_total_us} microseconds per step before any arithmetic, while this CPU's whole step at batch 1 took
  {step_b1_us:.0f} microseconds (measured). So at tiny batches launches decide and the CPU can win; the bigger
  the batch, the more work each launch carries, which is where the model's curves cross the CPU's.
- **Asynchronous GPUs**: on `cuda`, `x @ W` returns before the product is computed; the work waits in a
  queue. `torch.cuda.synchronize()` blocks until the queue is empty. A timer read without it measures
  how fast Python hands out work, not how long the GPU takes; {sync_shown}.
- **Timing here**: one call first (to warm up), then rounds of about 20 ms; the best of 3 rounds is shown.
  The server computes with {torch.get_num_threads()} thread(s) of its {os.cpu_count()} cores, and other
  visitors share those cores, so repeat measurements wobble.
""")
ui.show_source(throughput.make_train_step, throughput.time_call, throughput.synchronize, throughput.sync_demo)
ui.show_source(gpu_model.record_kernels, gpu_model.workload_kernels, gpu_model.estimate, gpu_model.pcie_gb_s,
               gpu_model.model_crossover, title="The GPU model that computed the estimates")

ui.quiz(
    "ch9",
    "Your from-scratch training loop runs on the CPU. What must change to run it on a GPU?",
    ["Rewrite the forward and backward passes with CUDA kernels",
     "Replace the hand-written tensors by torch.nn layers, which are the only ones that can use a GPU",
     "Create the weights and move every batch to the GPU (device='cuda' / .to('cuda')); the rest stays as is",
     "Nothing: PyTorch moves tensors to the GPU automatically when one is present"],
    answer=2,
    why="Every torch operation runs on the device its inputs live on. Put W1, b1, W2, b2 and each x, y batch "
        "on 'cuda' and the same forward, backward and update lines run on the GPU; PyTorch never moves "
        "tensors by itself, and mixing devices in one operation raises an error.",
)
