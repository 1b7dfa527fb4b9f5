"""Chapter 5 page: the optimizer race, its verdict table and the torch.optim check."""
from labs import ch05_optimizers as lab
from tests.apptest_utils import assert_no_exception, metric, open_page, page_output

PAGE = "views/ch05_optimizers.py"


def _table(at, column):
    for df in at.dataframe:
        if column in df.value.columns:
            return df.value
    raise KeyError(column)


def test_defaults_show_status_table_and_torch_check():
    at = open_page(PAGE)
    assert_no_exception(at)
    status = _table(at, "status")
    assert list(status["optimizer"]) == ["SGD", "Momentum", "Adam"]   # three walks on by default, not five
    assert set(status["status"]) <= {"converged", "stalled", "diverged", "local minimum", "saddle point",
                                     "rolling away"}
    # the page's numbers are core's numbers for the default widget values
    walk = lab.trajectory("Ravine", "Adam", (-4.5, 2.0), 150, dict(lr=0.3, betas=(0.9, 0.999)))
    verdict = lab.classify("Ravine", walk)
    row = status[status["optimizer"] == "Adam"].iloc[0]
    assert row["status"] == verdict["status"] and float(row["final loss"]) == float(f"{verdict['final_loss']:.4g}")
    check = _table(at, "max |our path - torch.optim path|")
    assert all(float(v) < 1e-6 for v in check["max |our path - torch.optim path|"])
    assert all(float(v) < 1e-6 for v in check["max |hand gradient - autograd|"])
    assert at.success and "matches torch.optim" in at.success[0].value


def test_lr_10_diverges_with_a_warning_not_an_exception():
    at = open_page(PAGE)
    at.select_slider(key="opt_lr").set_value(10.0).run()
    at.select_slider(key="opt_lra").set_value(10.0).run()
    assert_no_exception(at)
    status = _table(at, "status")
    assert (status[status["optimizer"] == "SGD"]["status"] == "diverged").all()
    assert any("diverged" in w.value for w in at.warning)
    check = _table(at, "max |our path - torch.optim path|")
    assert all(float(v) < 1e-6 for v in check["max |our path - torch.optim path|"])


def test_surface_start_and_extremes():
    at = open_page(PAGE)
    before = page_output(at)
    at.selectbox(key="opt_surf").set_value("Rastrigin").run()
    assert_no_exception(at)
    # switching surface moves the start point and learning rates to that surface's suggestion
    assert at.slider(key="opt_x0").value == lab.SURFACES["Rastrigin"]["start"][0]
    assert "local minimum" in set(_table(at, "status")["status"])
    at.slider(key="opt_x0").set_value(5.0).run()
    at.slider(key="opt_y0").set_value(-5.0).run()
    at.slider(key="opt_mom").set_value(0.0).run()
    at.slider(key="opt_steps").set_value(10).run()
    assert_no_exception(at)
    assert page_output(at) != before
    assert set(_table(at, "status")["steps taken"]) <= set(range(11))


def test_switching_all_optimizers_off_says_so():
    at = open_page(PAGE)
    for name in lab.OPTIMIZERS:
        at.toggle(key=f"opt_on_{name.lower()}").set_value(False).run()
    assert_no_exception(at)
    assert at.info and "at least one optimizer" in at.info[0].value


def test_link_restores_values_and_bad_link_warns():
    at = open_page(PAGE, query={"opt_surf": "Saddle", "opt_steps": "40"})
    assert at.selectbox(key="opt_surf").value == "Saddle" and at.slider(key="opt_steps").value == 40
    assert "rolling away" in set(_table(at, "status")["status"]) or "diverged" in set(_table(at, "status")["status"])
    at = open_page(PAGE, query={"opt_steps": "abc"})
    assert at.slider(key="opt_steps").value == 150 and at.warning


def test_exported_script_reproduces_the_page(downloads, tmp_path):
    import exports
    from tests.export_utils import run_export

    at = open_page(PAGE)
    at.selectbox(key="opt_surf").set_value("Himmelblau").run()  # also moves the start and learning rates
    at.slider(key="opt_x0").set_value(1.25).run()
    at.slider(key="opt_mom").set_value(0.5).run()
    at.slider(key="opt_steps").set_value(200).run()
    at.select_slider(key="opt_lr").set_value(0.03).run()
    at.select_slider(key="opt_lra").set_value(2.0).run()
    at.select_slider(key="opt_b2").set_value(0.99).run()
    at.toggle(key="opt_on_rmsprop").set_value(True).run()   # Nesterov stays off (its default)
    assert_no_exception(at)
    y0 = at.slider(key="opt_y0").value  # Himmelblau's suggested start
    hyper = {"SGD": {"lr": 0.03, "momentum": 0.5}, "Momentum": {"lr": 0.03, "momentum": 0.5},
             "Adam": {"lr": 2.0, "betas": (0.9, 0.99), "alpha": 0.99},
             "RMSprop": {"lr": 2.0, "betas": (0.9, 0.99), "alpha": 0.99}}
    settings = dict(surface="Himmelblau", start=(1.25, y0), steps=200, hyper=hyper, check_torch=True)
    assert downloads["opt_download"] == exports.fill("ch05_optimizers", settings)
    out = run_export("ch05_optimizers", settings, tmp_path)
    printed = dict(line.split(" ", 1) for line in out.splitlines())

    status = _table(at, "status")
    assert list(status["optimizer"]) == list(hyper)
    for _, row in status.iterrows():
        name = row["optimizer"]
        assert printed[f"{name}.status"] == row["status"]
        assert printed[f"{name}.steps_taken"] == str(row["steps taken"])
        assert printed[f"{name}.final_loss"] == row["final loss"]
        assert printed[f"{name}.grad_norm"] == row["|gradient|"]
        assert printed[f"{name}.end_point"] == row["end point"]
        assert printed[f"{name}.why"] == row["why"]
    assert {"converged", "stalled", "diverged"} <= set(status["status"])  # every kind of ending the brief names
    check = _table(at, "max |our path - torch.optim path|")
    for _, row in check.iterrows():
        assert printed[f"{row['optimizer']}.max_abs_path_minus_torch_optim"] == row["max |our path - torch.optim path|"]
        assert (printed[f"{row['optimizer']}.max_abs_hand_gradient_minus_autograd"]
                == row["max |hand gradient - autograd|"])
    assert printed["lowest_final_loss"] == metric(at, "Lowest final loss")
    best = next(m for m in at.metric if m.label == "Lowest final loss")
    assert best.help == f"reached by {printed['lowest_final_loss_by']}"


def _explanation(at):
    return next(m.value for m in at.markdown if "**SGD** steps" in m.value)


def test_ravine_text_says_curvature_and_quotes_this_starts_slope_ratio():
    at = open_page(PAGE)
    assert_no_exception(at)
    assert not any("25 times steeper" in t for t in [c.value for c in at.caption] + [m.value for m in at.markdown])
    assert any("curve 25 times more sharply across" in c.value for c in at.caption)
    text = _explanation(at)
    assert f"the slope across is {lab.slope_ratio('Ravine', (-4.5, 2.0)):.3g} times the slope along" in text  # 11.1
    at.slider(key="opt_y0").set_value(0.5).run()
    assert "the slope across is 2.78 times the slope along" in _explanation(at)


def test_nesterov_sentence_comes_from_this_run():
    at = open_page(PAGE)
    at.toggle(key="opt_on_nesterov").set_value(True).run()
    at.select_slider(key="opt_lr").set_value(0.1).run()
    assert_no_exception(at)
    text = " ".join(_explanation(at).split())
    assert "overshoots less." not in text
    assert "Nesterov diverged (blew up at step 8)" in text and "Momentum stayed within 0.01 of the floor" in text
    assert "is stable for lr < 2 (1 + mu) / 25 = 0.152" in text and "= 0.0543" in text
    at.select_slider(key="opt_lr").set_value(0.05).run()
    text = " ".join(_explanation(at).split())
    assert "Momentum stayed within 0.01 of the floor from step 101 on; Nesterov stayed within 0.01 of the " \
           "floor from step 22 on" in text


def test_adam_on_the_saddle_is_explained_not_ranked():
    """'Adam walks off the flat saddle faster than SGD' depends on the two learning rates (SGD at 0.1 gets
    farther than Adam at 0.01 in 150 steps); the page gives the mechanism instead."""
    far = {n: lab.trajectory("Saddle", n, (1.8, 0.01), 150, hp)["path"][-1, 1].abs().item()
           for n, hp in (("SGD", {"lr": 0.1}), ("Adam", {"lr": 0.01, "betas": (0.9, 0.999)}))}
    assert far["SGD"] > far["Adam"]
    at = open_page(PAGE)
    text = " ".join(_explanation(at).split())
    assert "walks off the flat saddle faster than SGD" not in text
    assert "where SGD's step, lr times a tiny slope, is tiny too" in text


def _positions(at):
    return _table(at, "loss")[["optimizer", "step", "x", "y", "loss"]].to_dict("records")


def test_scrubber_moves_every_ball_along_its_cached_walk():
    at = open_page(PAGE)
    assert at.slider(key="opt_t").value == 150   # the race shown whole at first
    end, verdicts = _positions(at), _table(at, "status")["final loss"].tolist()
    at.slider(key="opt_t").set_value(10).run()
    assert_no_exception(at)
    now = _positions(at)
    assert now != end and {r["step"] for r in now} == {10}
    sgd = lab.trajectory("Ravine", "SGD", (-4.5, 2.0), 150, {"lr": 0.05})
    row = next(r for r in now if r["optimizer"] == "SGD")
    x, y = sgd["path"][10].tolist()
    assert (float(row["x"]), float(row["y"])) == (round(x, 4), round(y, 4))
    assert _table(at, "status")["final loss"].tolist() == verdicts   # the verdicts are of the whole walks


def test_play_moves_the_balls_each_tick_and_stops_at_the_end():
    """AppTest runs the fragment once per run(): each run is one tick of Play's timer."""
    at = open_page(PAGE)
    at.slider(key="opt_steps").set_value(20).run()
    at.button(key="opt_play").click().run()   # at the end: Play starts the race again
    assert_no_exception(at)
    seen = [at.slider(key="opt_t").value]
    losses = [_positions(at)]
    for _ in range(25):
        at.run()
        seen.append(at.slider(key="opt_t").value)
        losses.append(_positions(at))
    assert seen[0] == 1 and seen[:20] == list(range(1, 21)) and set(seen[20:]) == {20}   # one step a tick (20 steps)
    assert losses[0] != losses[5]
    assert at.button(key="opt_play") and not at.slider(key="opt_t").disabled   # stopped, scrubber free again


def test_prediction_lr_02_momentum_answer_comes_from_the_walk():
    at = open_page(PAGE)
    at.radio(key="predict_ch5_lr02").set_value("It blows up (diverges)").run()
    assert any("momentum at lr 0.2 ended diverged" in s.value for s in at.success)   # mu 0.9: limit 0.152
