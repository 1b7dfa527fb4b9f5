"""Page 7's claims are measured: the lines each part of a step takes, and what 10 epochs reach on MNIST."""
import inspect
import sys

import pytest

from core import backward, losses, metrics, network, optim, train
from labs import ch07_training
from labs import ch07_mnist
from datasets import mnist_files
from tests.apptest_utils import assert_no_exception, open_page, page_output

PAGE = "views/ch07_training.py"


def _count_by_hand(func):
    """Lines of source that are code, counted line by line (no tokenizer, no ast): skip blank lines,
    lines holding only a comment, and the triple-quoted docstring right after the signature."""
    n, after_signature, in_docstring, body_started = 0, False, False, False
    for line in inspect.getsource(func).splitlines():
        text = line.strip()
        if in_docstring:
            in_docstring = '"""' not in text
            continue
        if not text or text.startswith("#"):
            continue
        if after_signature and not body_started:
            body_started = True
            if text.startswith('"""'):
                in_docstring = text.count('"""') == 1
                continue
        if text.startswith("def "):
            after_signature = False
        if text.endswith(":") and not after_signature and not body_started:
            after_signature = True
        n += 1
    return n


def test_code_lines_skips_blanks_comments_and_the_docstring():
    def sample(a,
               b):
        """A docstring
        over two lines."""
        # a comment

        text = """a string
        of two lines"""   # a trailing comment: still a line of code
        return a + b, text
    assert ch07_training.code_lines(sample) == 5 == _count_by_hand(sample)


def test_functions_called_sees_nested_calls_and_restores_the_profiler():
    before = sys.getprofile()
    called = ch07_training.functions_called(lambda: losses.cross_entropy(*_logits()))
    assert sys.getprofile() is before
    assert [f for f, _ in called] == [losses.cross_entropy, losses.cross_entropy_per_example, losses.log_softmax]
    assert [callers for _, callers in called] == [(), (losses.cross_entropy,),
                                                 (losses.cross_entropy, losses.cross_entropy_per_example)]


def _logits():
    import torch
    return torch.zeros(2, 3), torch.tensor([0, 2])


# what one Adam / cross-entropy / ReLU step calls, part by part (read off the source of live_step and
# core.train.train_step, the one step every training page runs; the backward pass is page 4's chain_rule)
ADAM_STEP = [
    ("the step itself, joining the parts", [ch07_training.live_step, train.make_config, train.check_choice,
                                            train.train_step, optim.flat_buffers, optim.into_one_buffer, optim.views_of,
                                            metrics.accuracy]),
    ("learning rate for this step", [optim.scheduled_lr]),
    ("next mini-batch (shuffle, slice)", [ch07_training.next_batch]),
    ("forward pass", [network.forward, network.relu]),
    ("loss and dLoss/dlogits", [losses.targets_for, losses.loss_and_grad, losses.cross_entropy_and_grad]),
    ("backward pass (chain rule)", [backward.chain_rule, backward.times_slope_]),
    ("optimizer step", [optim.update, optim.hyperparameters, optim.adam_step, optim.adam_step_flat,
                        optim.adam_update]),
    ("divergence check", [train.all_finite]),
]


def test_line_table_counts_the_functions_one_step_calls():
    at = open_page(PAGE)
    assert_no_exception(at)
    assert "twenty-odd" not in page_output(at)
    table = next(t.value for t in at.dataframe if "lines" in t.value.columns)
    rows = table.to_dict("records")
    assert [(r["part"], r["functions"]) for r in rows[:-1]] == \
        [(part, ", ".join(f.__name__ for f in funcs)) for part, funcs in ADAM_STEP]
    assert [r["lines"] for r in rows[:-1]] == [sum(_count_by_hand(f) for f in funcs) for _, funcs in ADAM_STEP]
    assert rows[-1]["lines"] == sum(_count_by_hand(f) for _, funcs in ADAM_STEP for f in funcs)
    assert rows[-1]["functions"] == f"{sum(len(funcs) for _, funcs in ADAM_STEP)} functions"
    # another optimizer and loss: the table follows the code that now runs
    at.segmented_control(key="tr_opt").set_value("SGD").run()
    at.selectbox(key="tr_loss").set_value("MSE on logits").run()
    assert_no_exception(at)
    rows = next(t.value for t in at.dataframe if "lines" in t.value.columns).to_dict("records")
    by_part = {r["part"]: r for r in rows}
    assert by_part["optimizer step"]["functions"] == "update, hyperparameters, sgd_step, tensor_pairs, sgd_update"
    assert by_part["optimizer step"]["lines"] == sum(map(_count_by_hand, (optim.update, optim.hyperparameters,
                                                                          optim.sgd_step, optim.tensor_pairs,
                                                                          optim.sgd_update)))
    assert by_part["loss and dLoss/dlogits"]["functions"] == "targets_for, one_hot, loss_and_grad, mse_loss, mse_grad"


def test_mnist_accuracy_is_measured_not_claimed():
    if not mnist_files.mnist_available("test"):
        pytest.skip("no MNIST test split on this machine")
    at = open_page(PAGE)
    before = page_output(at)
    assert "98%" not in before and "about 98" not in before       # the old, never computed claim
    at.button(key="tr_mnist").click().run()
    assert_no_exception(at)
    X_train, y_train, X_test, y_test, source = mnist_files.mnist_train_test()
    run = ch07_mnist.train_with_history(X_train, y_train, X_test, y_test, **ch07_mnist.REFERENCE_RUN)
    last = run["history"][-1]
    assert len(run["history"]) == ch07_mnist.REFERENCE_RUN["epochs"] == 10
    text = " ".join(s.value for s in at.success)
    assert f"10 epochs reach {last['test_acc']:.2%} accuracy on {len(X_test):,} held-out" in text
    assert f"{last['train_acc']:.2%} on the {len(X_train):,} training images" in text
    if len(X_train) < 60_000:        # only the test split here: the page says what full MNIST adds
        assert "Full MNIST has 60,000 training images" in page_output(at)


def test_page_7_shows_page_4s_backward_pass():
    """One backward pass: the code page 7's step runs (and shows) is core.backward.chain_rule, shown on page 4 too."""
    chain_rule = inspect.getsource(backward.chain_rule).strip()
    for page in (PAGE, "views/ch04_graph.py"):
        at = open_page(page)
        assert_no_exception(at)
        shown = [c.value.strip() for c in at.code]
        assert chain_rule in shown, page
        assert not any("def backward_from_logit_grad" in code for code in shown), page
