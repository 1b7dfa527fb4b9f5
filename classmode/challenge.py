"""The class challenge of the live-training page, recomputed on the server with `core`.

A student sends *settings* (optimizer, learning rate, network shape, steps, ...), never a number: the
server checks them against the rules, trains the chapter-7 network from them on the challenge's fixed
data (labs.ch07_training, the same code the page runs) and ranks the test loss it measured itself.
"""
import math

from core import data, network
from labs import ch07_training

# The rules, as the page states them.
CHALLENGE = dict(dataset="spiral", n_classes=3, noise=0.1, n_points=300, test_fraction=0.2, data_seed=0,
                 max_weights=300, max_steps=500)
DESCRIPTION = (f"Lowest test loss (cross-entropy on the held-out points) on the {CHALLENGE['dataset']} "
               f"({CHALLENGE['n_classes']} classes, noise {CHALLENGE['noise']}, {CHALLENGE['n_points']} points, "
               f"{CHALLENGE['test_fraction']:.0%} held out, seed {CHALLENGE['data_seed']}) with at most "
               f"{CHALLENGE['max_weights']} weights in at most {CHALLENGE['max_steps']} steps.")
LIMITS = dict(lr=(1e-5, 10.0), batch_size=(1, 512), depth=(1, 3), width=(2, 64), total_steps=(50, 5000),
              seed=(0, 99_999))


def n_weights(depth, width, n_in=2, n_out=CHALLENGE["n_classes"]):
    """Weights and biases of a 2 -> width (x depth) -> n_out network."""
    sizes = [n_in] + [width] * depth + [n_out]
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def _whole(value, name, lo, hi):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value != int(value) or not lo <= value <= hi:
        raise ValueError(f"{name} must be a whole number from {lo} to {hi}, got {value!r}")
    return int(value)


def check_settings(raw):
    """The settings a student submitted, checked against the rules; raises ValueError with the reason."""
    if not isinstance(raw, dict):
        raise ValueError("settings must be a dict")
    s = dict(optimizer=raw.get("optimizer"), loss=raw.get("loss"), activation=raw.get("activation"),
             schedule=raw.get("schedule"))
    for name, allowed in (("optimizer", ch07_training.OPTIMIZERS), ("loss", ch07_training.LOSSES),
                          ("activation", ("relu", "tanh", "sigmoid")), ("schedule", ch07_training.SCHEDULES)):
        if s[name] not in allowed:
            raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {s[name]!r}")
    lr = raw.get("lr")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) \
            or not LIMITS["lr"][0] <= lr <= LIMITS["lr"][1]:
        raise ValueError(f"lr must be a number from {LIMITS['lr'][0]:g} to {LIMITS['lr'][1]:g}, got {lr!r}")
    s["lr"] = float(lr)
    for name in ("batch_size", "depth", "width", "total_steps", "seed"):
        s[name] = _whole(raw.get(name), name, *LIMITS[name])
    s["steps"] = _whole(raw.get("steps"), "steps", 1, CHALLENGE["max_steps"])
    weights = n_weights(s["depth"], s["width"])
    if weights > CHALLENGE["max_weights"]:
        raise ValueError(f"a {s['depth']} x {s['width']} network has {weights} weights; the challenge "
                         f"allows at most {CHALLENGE['max_weights']}")
    return s


def challenge_data():
    """The challenge's train / test split (the same for everyone): X_train, X_test, y_train, y_test."""
    X, y = data.make_2d(CHALLENGE["dataset"], n=CHALLENGE["n_points"], noise=CHALLENGE["noise"],
                        seed=CHALLENGE["data_seed"], n_classes=CHALLENGE["n_classes"])
    return data.train_test_split(X, y, CHALLENGE["test_fraction"], seed=CHALLENGE["data_seed"])


def run(settings):
    """Train from checked `settings` exactly as the live-training page would; returns {test_loss, test_acc,
    weights, steps, diverged}. test_loss is cross-entropy on the held-out points, whatever loss trained."""
    s = check_settings(settings)
    X_train, X_test, y_train, y_test = challenge_data()
    sizes = [2] + [s["width"]] * s["depth"] + [CHALLENGE["n_classes"]]
    config = ch07_training.make_live_config(s["optimizer"], s["lr"], s["loss"], min(s["batch_size"], X_train.shape[0]),
                                            s["activation"], s["schedule"], total_steps=s["total_steps"],
                                            step_size=max(s["total_steps"] // 4, 1), gamma=0.5)
    state = ch07_training.new_state(sizes, seed=s["seed"], activation=s["activation"])
    ch07_training.train_frame(state, X_train, y_train, X_test, y_test, config, n_steps=s["steps"])
    test = ch07_training.evaluate_live(state["params"], X_test, y_test, s["activation"], "cross_entropy")
    diverged = state["diverged"]
    return dict(test_loss=test["loss"] if not diverged and math.isfinite(test["loss"]) else math.inf,
                test_acc=test["acc"], weights=network.count_params(state["params"]), steps=state["step"],
                diverged=diverged)
