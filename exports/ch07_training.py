"""Replays the live-training page (chapter 7): the same steps on the same 2-D points with the same network.

Needs torch and this repository's core/, labs/ and datasets/ packages: run it from the repository root
(or with PYTHONPATH pointing there):
    python ch07_training.py              a built-in dataset, as set on the page
    python ch07_training.py points.csv   your uploaded CSV (when the page trained on one)
It matches the page when the settings were not changed mid-run. With a CSV it standardises the points with the
training points' mean and std, as the page does. The page fills in SETTINGS with its values when you download it.
"""
import sys
from pathlib import Path

from core import data
from datasets import points_csv
from labs import ch07_training

# --- settings: the page fills these in when you download this script ---
SETTINGS = dict(
    dataset="moons",  # a built-in 2-D dataset (used when csv_file is None)
    csv_file=None,  # the name of the uploaded CSV the page trained on, or None
    n_classes=2,
    noise=0.1,
    n_points=300,
    test_fraction=0.2,
    sizes=[2, 16, 16, 2],
    activation="relu",
    seed=0,
    config=dict(optimizer="adam", lr=0.01, loss="cross_entropy", batch_size=32, activation="relu",
                schedule="constant", total_steps=1000, step_size=200, gamma=0.5),  # labs.ch07_training.make_live_config
    steps=100,
)
# --- end of settings ---


def points(s, argv):
    """X [N, 2], y [N]: the built-in dataset, or the CSV named on the command line (default: the uploaded name)."""
    if s["csv_file"] is None:
        return data.make_2d(s["dataset"], n=int(s["n_points"]), noise=s["noise"], seed=int(s["seed"]),
                            n_classes=int(s["n_classes"]))
    path = Path(argv[1] if len(argv) > 1 else s["csv_file"])  # your CSV file
    X, y, class_names, columns = points_csv.parse_points_csv(path.read_bytes())
    return X, y


def main(settings=SETTINGS, argv=None):
    s = settings
    X, y = points(s, sys.argv if argv is None else argv)
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, s["test_fraction"], seed=int(s["seed"]))
    if s["csv_file"] is not None:
        mean, std = data.fit_standardizer(X_train)  # as on the page: the training points' mean and std
        X_train, X_test = data.standardize(X_train, mean, std), data.standardize(X_test, mean, std)
    config = ch07_training.make_live_config(**s["config"])
    state = ch07_training.new_state(list(s["sizes"]), seed=int(s["seed"]), activation=s["activation"])
    ch07_training.train_frame(state, X_train, y_train, X_test, y_test, config, n_steps=int(s["steps"]))
    if state["diverged"]:
        print("diverged:", state["diverged"])
    else:
        h = state["history"]
        print(f"Step: {state['step']}")
        print(f"Train loss: {h['train_loss'][-1]:.4f}")
        print(f"Test loss: {h['test_loss'][-1]:.4f}")
        print(f"Train accuracy: {h['train_acc'][-1]:.1%}")
        print(f"Test accuracy: {h['test_acc'][-1]:.1%}")


if __name__ == "__main__":
    main()
