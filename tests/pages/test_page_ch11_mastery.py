"""Page: chapter 11, the equivalence table and dropout from scratch."""
from tests.apptest_utils import assert_no_exception, metric, open_page, page_output

PAGE = "views/ch11_mastery.py"


def _attempt(at, option=0):
    """Answer the dropout design challenge (the page reveals the measured answer only after an attempt)."""
    at.radio(key="predict_ch11_dropout_scale").set_value(at.radio(key="predict_ch11_dropout_scale").options[option]).run()
    return at


def _table(at):
    return next(m.value for m in at.markdown if m.value.startswith("| from scratch"))


def test_table_all_rows_checked_and_tolerance_matters():
    at = open_page(PAGE)
    assert_no_exception(at)
    assert metric(at, "Rows equal within tolerance") == "9 / 9"
    assert _table(at).count(":material/check: equal") == 9
    assert float(metric(at, "Largest difference")) < 1e-5
    at.select_slider(key="ms_tol").set_value(-9).run()
    assert_no_exception(at)
    n = int(metric(at, "Rows equal within tolerance").split("/")[0])
    assert 3 <= n < 9  # exact rows (weights, ReLU, DataLoader) stay equal, rounding-level rows do not
    assert ":material/close: differs" in _table(at) and metric(at, "Tolerance") == "1e-9"


def test_dropout_defaults_match_nn_dropout_and_keep_the_mean():
    at = _attempt(open_page(PAGE))
    assert metric(at, "Scale for survivors 1/(1-p)") == "2.000"
    assert metric(at, "max |ours - nn.Dropout|") == "0.0e+00"
    assert metric(at, "Same mask as nn.Dropout") == "yes"
    kept = float(metric(at, "Fraction kept in this mask"))
    assert 0.45 < kept < 0.55
    mean_h = float(metric(at, "Mean of h (no dropout)"))
    assert abs(float(metric(at, "Mean over 500 masks, with 1/(1-p)")) - mean_h) < 0.02 * mean_h
    assert abs(float(metric(at, "Mean over 500 masks, without")) - 0.5 * mean_h) < 0.02 * mean_h


def test_p_slider_extremes_and_eval_mode():
    at = _attempt(open_page(PAGE))
    at.slider(key="ms_p").set_value(0.95).run()
    assert_no_exception(at)
    assert metric(at, "Scale for survivors 1/(1-p)") == "20.000"
    assert float(metric(at, "Fraction kept in this mask")) < 0.1
    at.slider(key="ms_p").set_value(0.0).run()
    assert metric(at, "Fraction kept in this mask") == "1.000"
    at.slider(key="ms_p").set_value(0.3).run()
    at.segmented_control(key="ms_mode").set_value("eval").run()
    assert_no_exception(at)
    assert metric(at, "eval output == input") == "yes"
    assert metric(at, "max |ours - nn.Dropout|") == "0.0e+00"


def test_batch_size_extremes_and_links():
    at = open_page(PAGE, query={"ms_batch": "1", "ms_p": "0.7"})
    assert_no_exception(at)
    assert at.slider(key="ms_p").value == 0.7 and metric(at, "Rows equal within tolerance") == "9 / 9"
    at = open_page(PAGE, query={"ms_batch": "256", "ms_p": "2"})
    assert_no_exception(at)
    assert at.slider(key="ms_p").value == 0.5 and at.warning


def test_quiz_counts():
    at = open_page(PAGE)
    at.radio(key="quiz_ch11").set_value(at.radio(key="quiz_ch11").options[1]).run()
    assert at.success


def test_downloaded_script_prints_the_page_numbers(mnist_dir, downloads, monkeypatch, tmp_path):
    import exports
    from labs.ch10_torch_nn import TOLERANCE
    from tests.export_utils import run_download

    monkeypatch.setenv("MNIST_DIR", str(mnist_dir))
    at = _attempt(open_page(PAGE, query={"ms_batch": "32", "ms_p": "0.3", "ms_seed": "4"}))
    script = downloads["ms_dl"]
    assert script == exports.fill("ch11_mastery", dict(batch_size=32, seed=4, p=0.3, tol=TOLERANCE))
    stdout = run_download(script, tmp_path, "ch11_mastery.py")
    printed = dict(line.rsplit(" ", 1) for line in stdout.splitlines() if line.startswith("dropout_"))
    assert printed["dropout_scale"] == metric(at, "Scale for survivors 1/(1-p)")
    assert printed["dropout_kept_fraction"] == metric(at, "Fraction kept in this mask")
    assert printed["dropout_max_diff_vs_nn"] == metric(at, "max |ours - nn.Dropout|")
    assert printed["dropout_same_mask"] == metric(at, "Same mask as nn.Dropout") == "yes"
    assert "rows_equal 9 / 9" in stdout and metric(at, "Rows equal within tolerance") == "9 / 9"
    assert f"largest_difference {metric(at, 'Largest difference')}" in stdout


def test_first_quiz_answer_counts_on_the_home_page():
    at = open_page(PAGE)
    quiz = at.radio(key="quiz_ch11")
    quiz.set_value(quiz.options[0]).run()
    right_first = bool(at.success)
    at.radio(key="quiz_ch11").set_value(at.radio(key="quiz_ch11").options[1]).run()  # a second try does not count
    at.switch_page("views/home.py").run()
    assert metric(at, "Answered") == "1"
    assert metric(at, "Right first time") == ("1" if right_first else "0")


def _explanation(at):
    return next(m.value for m in at.markdown if m.value.startswith("A difference of exactly 0"))


def test_explanation_names_the_exact_rows_and_the_rounding_range_it_measured():
    """At batch 1 the cross-entropy row (real arithmetic) is exactly 0 too: the page may not promise that
    'rows that do real arithmetic turn into crosses'; it says which rows were exact and the range of the rest."""
    at = open_page(PAGE)
    at.select_slider(key="ms_batch").set_value(1).run()
    at.select_slider(key="ms_tol").set_value(-9).run()
    assert_no_exception(at)
    text = _explanation(at)
    equal = int(metric(at, "Rows equal within tolerance").split("/")[0])
    assert f"Here {equal} of the 9 rows are exactly 0" in text
    assert "`F.cross_entropy(logits, y)`" in text.split("; the other")[0]
    assert _table(at).count(":material/close: differs") == 9 - equal
    assert "rows that do real arithmetic" not in text and "Differences around 1e-7" not in text
    assert f"to {metric(at, 'Largest difference')}, float32" in text


def test_design_challenge_hides_the_answer_until_an_attempt():
    """Issue 9: the challenge showed 1 / (1 - p) before the learner tried. Nothing on the page names the factor
    (no scale metric, no running-mean chart, no 'why divide' explanation) until a factor is picked; then the
    measured answer appears, with the means this page computed."""
    at = open_page(PAGE)
    assert_no_exception(at)
    labels = [m.label for m in at.metric]
    assert "Scale for survivors 1/(1-p)" not in labels and not any(lab.startswith("Mean over") for lab in labels)
    shown = page_output(at)
    assert "1 / (1 - p)**" not in shown and "Why divide by 1 - p" not in [e.label for e in at.expander]
    assert "h / (1 - p)" not in shown
    assert at.radio(key="predict_ch11_dropout_scale").value is None
    at = _attempt(at, option=0)   # a wrong guess: leave the survivors as they are
    assert_no_exception(at)
    assert metric(at, "Scale for survivors 1/(1-p)") == "2.000"
    mean_h = metric(at, "Mean of h (no dropout)")
    with_scale = metric(at, "Mean over 500 masks, with 1/(1-p)")
    without = metric(at, "Mean over 500 masks, without")
    verdict = " ".join(e.value for e in at.error)
    assert "Not this time" in verdict and "1 / (1 - p)" in verdict
    assert f"gives a mean of {with_scale}" in verdict and f"has mean {mean_h}" in verdict and without in verdict
    at = _attempt(at, option=2)
    assert "Your prediction was right" in " ".join(e.value for e in at.success)


def test_tolerance_prediction_why_quotes_the_measured_rows():
    at = open_page(PAGE)
    radio = at.radio(key="predict_ch11_tolerance")
    radio.set_value(radio.options[1]).run()
    assert_no_exception(at)
    verdicts = " ".join(e.value for e in at.success) + " ".join(e.value for e in at.error)
    at.select_slider(key="ms_tol").set_value(-9).run()
    n_strict = int(metric(at, "Rows equal within tolerance").split("/")[0])
    assert f"{n_strict} of the 9 rows are within 1e-9" in verdicts
    assert ("Your prediction was right" in verdicts) == (0 < n_strict < 9)
