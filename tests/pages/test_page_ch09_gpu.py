"""Chapter 9 page: real CPU measurements, the no-GPU path, the shared measurement and its rate limit."""
import json
import re

import torch

import exports
from labs import ch09_gpu as lab
from tests.apptest_utils import assert_no_exception, metric, open_page, page_output
from tests.export_utils import run_export

PAGE = "views/ch09_gpu.py"


def _table(at, column):
    for df in at.dataframe:
        if column in df.value.columns:
            return df.value
    raise KeyError(column)


def test_page_measures_this_cpu_and_says_when_no_gpu():
    at = open_page(PAGE)
    assert_no_exception(at)
    assert metric(at, "Threads torch uses") == str(torch.get_num_threads())
    sweep = _table(at, "samples/s")
    assert set(sweep["batch"]) == set(lab.DEFAULT_BATCHES)
    assert (sweep["samples/s"] > 0).all() and (sweep["GFLOP/s"] > 0).all() and (sweep["ms per call"] > 0).all()
    assert float(metric(at, "This CPU: samples/s training").replace(",", "")) > 0
    sync = _table(at, "with synchronize (ms)")
    assert (sync["with synchronize (ms)"] > 0).all()
    out = page_output(at)
    if not torch.cuda.is_available():
        assert metric(at, "CUDA GPU") == "no"
        assert "torch.cuda.is_available()" in out and "no GPU" in out
        if lab.load_reference() is None:
            assert "no reference GPU measurement recorded yet" in out
        assert "forgetting `synchronize` changes nothing here" in out


def test_workload_switch_changes_the_table():
    at = open_page(PAGE)
    before = page_output(at)
    at.segmented_control(key="gpu_op").set_value("matmul").run()
    assert_no_exception(at)
    assert "[64, 784] @ [784, 128]" in set(_table(at, "samples/s")["work"])
    assert page_output(at) != before
    at.segmented_control(key="gpu_unit").set_value("GFLOP/s").run()
    assert_no_exception(at)


def test_one_shared_measurement_and_rate_limited_remeasure():
    at = open_page(PAGE)
    first = _table(at, "samples/s")
    at2 = open_page(PAGE)  # a second visitor gets the very same numbers, not a new measurement
    assert _table(at2, "samples/s").equals(first)
    at2.button(key="gpu_remeasure").click().run()  # measured seconds ago: refused politely
    assert_no_exception(at2)
    assert any("measures at most" in i.value for i in at2.info)
    assert _table(at2, "samples/s").equals(first)


def test_reference_file_is_shown_when_present(tmp_path, monkeypatch):
    # a stand-in file in the exact format bench/gpu_reference.py writes (CPU sweeps posing as the GPU:
    # this only tests that the page reads and labels the file; no such file is shipped)
    sweep = lab.measure_sweep("cpu", batches=lab.DEFAULT_BATCHES, budget_s=0.001, repeats=1)
    demo = lab.sync_demo("cpu", calls=5)
    ref = {"schema": lab.SCHEMA, "recorded_utc": "2000-01-01T00:00:00Z", "script": "test", "torch": torch.__version__,
           "cuda": None, "device": "cuda", "device_name": "TEST STAND-IN", "batches": list(lab.DEFAULT_BATCHES),
           "gpu": sweep, "cpu": sweep, "sync": {"lesson": demo, "large": demo}, "cpu_sync": demo}
    path = tmp_path / "ref.json"
    path.write_text(json.dumps(ref))
    monkeypatch.setattr(lab, "REFERENCE_FILE", path)
    at = open_page(PAGE)
    assert_no_exception(at)
    out = page_output(at)
    assert "reference GPU: TEST STAND-IN (2000-01-01)" in out
    assert "no reference GPU measurement recorded yet" not in out
    assert "On the reference machine" in out


def parse_printout(out):
    """The script's "label: value" lines and its tables ({title: (columns, rows)}, cells split on " | ")."""
    values, tables = {}, {}
    for block in out.strip().split("\n\n"):
        lines = block.splitlines()
        if len(lines) > 1 and " | " in lines[1]:
            tables[lines[0]] = (lines[1].split(" | "), [line.split(" | ") for line in lines[2:]])
        else:
            values.update(line.rsplit(": ", 1) for line in lines if ": " in line)
    return values, tables


def test_exported_script_measures_this_machine_and_prints_the_pages_tables(downloads, tmp_path):
    at = open_page(PAGE)
    assert_no_exception(at)
    assert downloads["gpu_dl_script"] == exports.fill("ch09_gpu", dict(batches=lab.DEFAULT_BATCHES, budget_s=0.02,
                                                                       threads=torch.get_num_threads()))
    small = (1, 64)  # a short sweep keeps the test fast; the page's script sweeps lab.DEFAULT_BATCHES
    out = run_export("ch09_gpu", dict(batches=small, budget_s=0.002, threads=1), tmp_path)
    print(out)  # shown by pytest if a check below fails
    values, tables = parse_printout(out)
    for label in ("CPU cores", "Threads torch uses", "CUDA GPU", "Apple MPS GPU"):
        assert values[label] == metric(at, label), label
    for label in ("This CPU: 64 x 784 @ 784 x 128", "This CPU: train step, batch 64"):
        assert re.fullmatch(r"\d+\.\d{3} ms", values[label]) and re.fullmatch(r"\d+\.\d{3} ms", metric(at, label))
        assert float(values[label].split()[0]) > 0
    assert float(values["This CPU: samples/s training"].replace(",", "")) > 0

    def same_rows(page, printed):
        """Same columns; the printed rows are the page's rows for the batches the script swept (cpu)."""
        columns, rows = printed
        assert columns == list(page.columns)
        assert all(len(r) == len(columns) for r in rows)
        return [dict(zip(columns, r)) for r in rows if r[0] == "this machine, cpu"]

    for op in ("train step", "matmul"):
        at.segmented_control(key="gpu_op").set_value(op).run()
        page = _table(at, "samples/s")
        assert f"Throughput of one {op}, by batch size" in [h.value for h in at.subheader]
        cpu = same_rows(page, tables[f"Throughput of one {op}, by batch size"])
        assert [int(r["batch"]) for r in cpu] == list(small)
        page_cpu = page[page["measured on"] == "this server, cpu"].set_index("batch")
        for r in cpu:
            assert r["work"] == page_cpu.loc[int(r["batch"]), "work"]
            assert all(float(r[c]) > 0 for c in ("ms per call", "samples/s", "GFLOP/s"))

    page = _table(at, "with synchronize (ms)")
    cpu = same_rows(page, tables["The mistake: timing a GPU without synchronize"])
    assert [r["work"] for r in cpu] == list(page.loc[page["measured on"] == "this server, cpu", "work"])
    assert all(float(r[c]) > 0 for r in cpu for c in ("with synchronize (ms)", "without (ms)", "ratio"))


def _race_caption(at):
    return next(c.value for c in at.caption if c.value.startswith("Press Play"))


def _num(text):
    return float(text.replace(",", ""))


def test_race_caption_gives_steps_and_samples_in_the_right_units():
    at = open_page(PAGE)
    assert_no_exception(at)
    cpu = _table(at, "samples/s").set_index("batch")  # train step, this server's CPU (measured)
    caption = _race_caption(at)
    one = re.search(r"this server, cpu, batch 1 \(the same samples one at a time\): ([\d,]+) steps/s of batch 1 "
                    r"= ([\d,]+) samples/s", caption)
    assert one, caption
    assert abs(_num(one[1]) - cpu.loc[1, "samples/s"]) <= 1  # one sample per step: steps/s = samples/s
    assert one[1] == one[2]
    for steps, samples in re.findall(r"([\d,]+) steps/s of batch 64 = ([\d,]+) samples/s", caption):
        assert abs(_num(steps) * 64 - _num(samples)) <= 64  # a step of batch 64 trains 64 samples
    b64 = re.search(r"this server, cpu, batch 64: ([\d,]+) steps/s", caption)
    assert abs(_num(b64[1]) - cpu.loc[64, "samples/s"] / 64) <= 1
    assert "model: NVIDIA T4, batch 64" in caption  # the GPU side of the race, labelled as a model


def test_gpu_side_is_a_labelled_roofline_model_with_its_sources():
    from labs import ch09_gpu
    at = open_page(PAGE)
    assert_no_exception(at)
    out = page_output(at)
    assert "hundreds of times" not in out
    specs = _table(at, "FP32 peak (TFLOP/s)").set_index("GPU")
    for name, g in ch09_gpu.GPUS.items():
        assert specs.loc[name, "FP32 peak (TFLOP/s)"] == g["fp32_tflops"]
        assert specs.loc[name, "memory bandwidth (GB/s)"] == g["memory_gb_s"]
        assert all(url in out for url in g["sources"])
    assert all(url in out for url in ch09_gpu.LAUNCH_SOURCES) and "an assumption" in out
    model = _table(at, "samples/s (model)")
    cpu = _table(at, "samples/s").set_index("batch")["samples/s"]
    expected = {name: ch09_gpu.model_sweep(name, launch_us=ch09_gpu.DEFAULT_LAUNCH_US) for name in ch09_gpu.GPUS}
    for _, row in model.iterrows():
        rate = lab.rate_table(expected[row["GPU (model)"]], "train step")[row["batch"]]
        assert row["samples/s (model)"] == round(rate)
        assert row["kernels"] == len(ch09_gpu.workload_kernels("train step", row["batch"]))
        assert row["this CPU, measured samples/s"] == cpu[row["batch"]]
    assert set(model.loc[model["batch"] == 1, "bound by"]) == {"kernel launches"}
    # the crossover sentences are the model's, against the CPU numbers this page measured
    cpu_sweep = {"rows": [{"op": "train step", "batch": B, "samples_per_s": r} for B, r in cpu.items()]}
    for name, sweep in expected.items():
        lose, win = ch09_gpu.model_crossover(cpu_sweep, sweep, "train step")
        line = next(m.value for m in at.markdown if m.value.startswith(f"- **Model**, {name} "))
        if lose and win:
            assert f"loses up to **batch {lose}** and wins from **batch {win}** on" in line
    assert "is **batch 13** and up" in out
    at.select_slider(key="gpu_launch").set_value(50).run()  # the assumption moves the model, not the CPU
    assert_no_exception(at)
    model = _table(at, "samples/s (model)")
    assert set(model["launches (us)"]) == {len(ch09_gpu.workload_kernels("train step", 1)) * 50}


def test_predictions_are_answered_from_the_measured_cpu_and_the_model():
    at = open_page(PAGE)
    assert_no_exception(at)
    radio = at.radio(key="predict_ch09_b1")
    assert radio.value is None
    radio.set_value("This CPU").run()
    assert_no_exception(at)
    said = " ".join([e.value for e in at.success] + [e.value for e in at.error])
    name = next(iter(lab.GPUS))
    gpu_rate = lab.rate_table(lab.model_sweep(name), "train step")[1]
    assert f"estimates {gpu_rate:,.0f}" in said
    assert re.search(r"At batch 1 this CPU measured [\d,]+ samples/s", said)
