"""labs.t3_binary_activation's resumable training: pieces of a run give the numbers of one long run."""
import pytest
import torch

from core import data
from labs import t3_binary_activation as lab


@pytest.mark.parametrize("text, dataset, lr, epochs", [(lab.SMOOTHSTEP, "moons", 0.05, 130),
                                                       ("x", "circles", 0.05, 100),
                                                       ("exp(exp(exp(x)))", "moons", 10.0, 60)])
def test_pieces_give_exactly_the_numbers_of_one_run(text, dataset, lr, epochs):
    X, y = data.make_2d(dataset, n=300, noise=0.15, seed=3)
    model = lab.binary_classifier(8, lab.activation_from_formula(text)["f"], seed=3, name=text)
    whole = lab.train_binary(model, X, y, lr=lr, epochs=epochs)
    pieces, start = [], None
    for _ in range(3):                                          # 3 x 50 epochs: past `epochs`, cut by run_after
        start = lab.continue_run(text, dataset, 8, lr, 0.15, 3, 50, start)
        pieces.append(start)
    history, joined = lab.run_after(pieces, epochs, text, 8, 3)
    assert history == {k: whole[k] for k in ("loss", "accuracy", "diverged")}
    assert all(torch.equal(a, b) for a, b in zip(joined.parameters(), model.parameters(), strict=True))


def test_a_piece_can_be_continued_twice_with_the_same_result():
    """continue_run must not change the piece it starts from (Adam updates its moments in place)."""
    first = lab.continue_run("tanh(x)", "xor", 4, 0.1, 0.1, 0, 50)
    a = lab.continue_run("tanh(x)", "xor", 4, 0.1, 0.1, 0, 50, first)
    b = lab.continue_run("tanh(x)", "xor", 4, 0.1, 0.1, 0, 50, first)
    assert a["loss"] == b["loss"] and torch.equal(a["weights"], b["weights"])


def test_the_estimate_grows_with_the_formula_and_the_layer():
    small, large = (lab.formula_pieces(lab.parse_activation(t)[0]) for t in ("x", lab.SMOOTHSTEP))
    assert small < large
    assert lab.estimated_seconds_per_epoch(small, 16) < lab.estimated_seconds_per_epoch(large, 16) \
        < lab.estimated_seconds_per_epoch(large, 64)


def test_n_parameters_counts_the_classifiers_parameters_without_training():
    for hidden in (1, 16, 64):
        model = lab.binary_classifier(hidden, torch.relu)
        assert lab.n_parameters(hidden) == sum(p.numel() for p in model.parameters()) == 4 * hidden + 1
