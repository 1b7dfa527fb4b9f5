"""Chapter 9: CPU vs GPU throughput, measured for real on the machine serving this page."""
import contextlib
import os

import streamlit as st
import torch

import exports
import ui
from labs import ch09_gpu as lab
from ui import ch09_figures

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
                                 list(lab.LAUNCH_OVERHEAD_US), lab.DEFAULT_LAUNCH_US, key="gpu_launch",
                                 help="An assumption of the GPU model, not a datasheet figure: the time to start one "
                                      "GPU kernel, in microseconds.")
    copy_batch = ui.toggle("Copy each batch over PCIe (model)", True, key="gpu_copy",
                           help="A training loop whose data sits in the computer's memory copies every batch to "
                                "the GPU.")


# ------------------------------------------------ one measurement per server
@st.cache_resource
def shared_measurement():
    """One measurement for the whole server (labs.ch09_gpu.SharedMeasurement): every session reads the same
    result, so 30 students opening the page at once cause one measurement."""
    return lab.SharedMeasurement(every_s=REMEASURE_EVERY_S)


@contextlib.contextmanager
def measuring():
    """A progress bar while this session measures (it stands where the chart will be)."""
    bar = st.progress(0.0, text="Measuring...")
    yield lambda f, text: bar.progress(min(f, 1.0), text=text)
    bar.empty()


slot = shared_measurement()
if again and slot.too_soon():
    L.controls.info(f"The last measurement is only {slot.age():.0f} s old; this server measures at most once every "
                    f"{REMEASURE_EVERY_S} s, so try again in {REMEASURE_EVERY_S - slot.age():.0f} s.",
                    icon=":material/timer:")
    again = False
with L.picture:
    slot.ensure(force=again, measuring=measuring, waiting=lambda: st.spinner(
        "Someone else's measurement is running on this server; waiting for it..."))
result, age = slot.result, slot.age()
reference = lab.load_reference()
key = "samples_per_s" if unit == "samples/s" else "gflops"
gpu_models = st.cache_data(max_entries=50, show_spinner=False)(lab.model_sweeps)   # pure: cached per assumption
models = gpu_models(launch_us, copy_batch)
series = lab.measured_series(result, reference)   # [(label, sweep, source)]: this server, then the reference file
local_cpu = result["sweeps"]["cpu"]

with L.picture:
    fig_title = f"Throughput of one {op}, by batch size"
    curves = [(label, lab.rate_table(sweep, op, key), source)
              for label, sweep, source in series + lab.model_series(models)]
    ui.plot(ch09_figures.throughput_figure(curves, fig_title, unit), key="gpu_sweep")
    st.caption(f"Measured {age:.0f} s ago on this server, in {result['seconds']:.2f} s, on: "
               + ", ".join(f"`{d}` ({result['sweeps'][d]['device_name']})" for d in result["devices"])
               + ". Each number is the best of 3 timing rounds; "
               "*model* lines are roofline estimates, not measurements.")

with L.below:
    # ---------------------------------------------------------------- this machine
    cuda, mps = torch.cuda.is_available(), lab.devices().count("mps") > 0
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
ui.stat_table(lab.throughput_rows(series, op), width="stretch")
lesson = {r["op"]: r for r in local_cpu["rows"] if r["batch"] == 64}


def race_prompt(batch, name):
    """Predict, then try: at this batch, does this CPU (measured) or the model's GPU train more samples/s?"""
    p = lab.race_prediction(local_cpu, models[name], batch)
    ui.predict(f"ch09_b{batch}", f"Batch {batch:,}, training steps: which trains more samples per second, this "
               f"server's CPU or the model's {name}?", ["This CPU", f"The {name}", "About the same"],
               answer=["cpu", "gpu", "same"].index(p["faster"]),
               why=f"At batch {batch:,} this CPU measured {p['cpu']:,.0f} samples/s and the roofline model of the "
                   f"{name} estimates {p['gpu']:,.0f} ({p['ratio']:.2g}x): "
                   + ("kernel launches, not arithmetic, set the GPU's pace here." if p["ratio"] < 1 else
                      "each launch now carries enough work for the GPU's arithmetic to pay."))


with L.below:
    first_gpu = next(iter(models))
    p1, p2 = st.columns(2)
    with p1:
        race_prompt(1, first_gpu)
    with p2:
        race_prompt(max(lab.rate_table(local_cpu, "train step")), first_gpu)
c = st.columns(3)
c[0].metric("This CPU: 64 x 784 @ 784 x 128", f"{lesson['matmul']['seconds'] * 1e3:.3f} ms",
            help=f"{lab.matmul_flops(*lab.LESSON_MATMUL) / 1e6:.1f} million floating-point operations")
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
ui.stat_table(lab.spec_rows(), width="stretch")
st.caption("Sources of the datasheet figures: "
           + "; ".join(f"{name}: " + ", ".join(g["sources"]) for name, g in lab.GPUS.items())
           + ". PCIe one direction = transfers per second per lane (Gen3 8, Gen4 16, Gen5 32 GT/s) x lanes x "
           "128/130 (encoding) / 8 bits. "
           f"Launch overhead: **{launch_us} microseconds per kernel, an assumption** you can change under "
           "*More controls*; quoted figures run from about 5 to 50 microseconds ("
           + ", ".join(lab.LAUNCH_SOURCES) + ").")
ui.stat_table(lab.model_rows(models, local_cpu, op), width="stretch")
kernels_per_op = lab.kernels_per_op(models[next(iter(models))])
st.caption(f"Counted from the code: one {op} launches {kernels_per_op[op]} kernels "
           f"({kernels_per_op[op] * launch_us} microseconds of launch overhead at the assumed {launch_us} per kernel, "
           "whatever the batch size). Assumed: each operation other than a view or a bare allocation is one kernel, "
           "reads all its inputs and writes all its outputs in GPU memory, nothing overlaps, and the GPU reaches its "
           "datasheet peak; real GPUs reach less, so the model is optimistic about arithmetic and pessimistic about "
           "overlap.")

# ------------------------------------------------------- where the GPU wins
st.subheader("Where does the GPU overtake the CPU?")
x = lab.crossovers(result, reference, models, op)
gpus_here, rule_B, crossings = list(x["here"]), x["rule"], x["models"]
said = [(f"On this server, `{d}` beats the CPU for a {op}", B, "") for d, B in x["here"].items()]
if reference:
    said += [(f"On the reference machine, its {reference['device_name']} beats its own CPU", x["reference"], ""),
             ("Against this server's CPU (one thread), the reference GPU wins", x["reference_vs_here"],
              " (Different machines: a rough comparison.)")]
for what, B, note in said:
    st.markdown(f"- {what} " + (f"from **batch {B}** on." if B else "at **none** of the measured batch sizes.") + note)
for name, (lose, win) in crossings.items():
    where = (f"loses up to **batch {lose}** and wins from **batch {win}** on" if lose and win
             else f"wins at every measured batch, from **batch {win}**" if win
             else "loses at **every** measured batch")
    st.markdown(f"- **Model**, {name} against this server's measured CPU, for a {op}: the GPU {where}.")
st.markdown(
    f"The seed lesson's rule of thumb says the GPU wins once *batch x features > 10,000*: with "
    f"{lab.SIZES[0]} input features that is **batch {rule_B}** and up. "
    + " ".join(
        f"For the model's {name} the switch lies "
        + (f"between batch {lose} and {win}" if lose and win else f"at or below batch {win}" if win
           else "beyond every measured batch")
        + (f" (the rule's {rule_B} is {'inside' if x['rule_inside'][name] else 'outside'} that range)."
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
ui.stat_table(lab.sync_rows(result, reference), width="stretch")
if not gpus_here:
    st.caption("On a CPU the two timings agree up to noise: every operation has finished when Python gets "
               "control back, so forgetting `synchronize` changes nothing here. The mistake only shows on a GPU, "
               "where `x @ W` just queues the work"
               + (": see the reference rows." if reference else "; no GPU measurement is available to show it."))

# -------------------------------------------------------------- the animation
st.subheader("Samples trained in the same time")
race = lab.race(series, models, local_cpu)   # bars: each series and model at batch 64, this CPU at batch 1
ui.plot(ch09_figures.race_figure(race["times"], race["counts"]), key="gpu_race")
st.caption(f"Press Play: {race['duration'] * 1e3:.1f} ms of real time, slowed down. Each bar advances at its rate of "
           "from-scratch training steps times the samples each step trains; bars marked *model* run at the "
           "roofline model's estimate, the others at measured rates; the last bar trains one sample per step ("
           + "; ".join(f"{name}: {r['steps_per_s']:,.0f} steps/s of batch {r['batch']} = "
                       f"{r['samples_per_s']:,.0f} samples/s" for name, r in race["rates"].items()) + ").")

step_b1_us = 1e6 / lab.rate_table(local_cpu, "train step")[1]  # one step of batch 1 trains 1 sample
launch_total_us = kernels_per_op["train step"] * launch_us
sync_shown = ("the synchronize table above shows the gap on a real GPU" if gpus_here or reference
              else "no GPU here or in a reference file shows by how much, so the page does not guess")
ui.explain(f"""
- **The one change**: create the tensors on the GPU (`device="cuda"`, or `.to("cuda")` for ones you already
  have): `W1 [784, 128]`, `b1 [128]`, `W2 [128, 10]`, `b2 [10]` and each batch `x [64, 784]`, `y [64]`.
  Forward, backward and the update then run there unchanged: `labs.ch09_gpu.make_train_step` calls the
  very same `core` functions with a `device` argument.
- **Work per call**: `x @ W1` for a batch of 64 is 64 x 784 x 128 =
  {lab.matmul_flops(*lab.LESSON_MATMUL) // 2:,} multiply-adds. A GPU has thousands of arithmetic
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
ui.show_source(lab.make_train_step, lab.time_call, lab.synchronize, lab.sync_demo)
ui.show_source(lab.record_kernels, lab.workload_kernels, lab.estimate, lab.pcie_gb_s,
               lab.model_crossover, title="The GPU model that computed the estimates")

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
