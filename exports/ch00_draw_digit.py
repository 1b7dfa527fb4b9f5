"""Draw a digit (chapter 0): the shipped 784-128-10 network, how it reads one held-out MNIST test digit (when the
page showed one; a drawing cannot be replayed) and its held-out accuracy.

Needs torch and this repository: its core/, labs/ and datasets/ packages and models/<model_file>.
datasets.mnist_files reads the MNIST test split from $MNIST_DIR, data/mnist or the copy committed in datasets/mnist.
Run it from the repository root, or with the root on PYTHONPATH:
    python ch00_draw_digit.py
It prints the numbers the page showed. The page fills in SETTINGS with its values when you download this script.
"""
from pathlib import Path

from core import metrics
from datasets import mnist_files
from labs import ch00_draw_digit

# --- settings: the page fills these in when you download this script ---
SETTINGS = dict(index=None, n_test=2000, model_file="mnist_784_128_10.pt")
# --- end of settings ---


def main(settings=SETTINGS):
    index, n_test = settings["index"], int(settings["n_test"])
    model = Path(ch00_draw_digit.__file__).resolve().parent.parent / "models" / Path(settings["model_file"]).name
    params = ch00_draw_digit.load_weights(model)  # [{"W": [784, 128], "b": [128]}, {"W": [128, 10], "b": [10]}]
    X, y = mnist_files.load_mnist("test")  # X [10000, 784] in [0, 1], y [10000]
    if n_test == mnist_files.HELD_OUT:  # trained on the first 8,000 test images, the last 2,000 held out
        X_held, y_held = X[-n_test:], y[-n_test:]  # the images it never trained on
    else:  # it trained on full MNIST's training set: the whole test split is unseen
        X_held, y_held = X, y

    if index is not None:
        # One digit: 784 pixels -> 128 hidden units -> 10 scores -> softmax.
        out = ch00_draw_digit.read_digit(params, X_held[int(index)])
        probs = out["probs"].tolist()
        print(f"Prediction: {out['prediction']}")
        print(f"Confidence: {probs[out['prediction']]:.1%}")
        print(f"True label: {int(y_held[int(index)])}")
        print("digit logit probability")
        for d in range(10):
            print(d, round(float(out["logits"][d]), 3), round(probs[d], 4))

    print(f"Parameters: {sum(t.numel() for layer in params for t in layer.values()):,}")
    accuracy = metrics.accuracy(metrics.predictions(params, X_held), y_held)
    print(f"Held-out accuracy (measured now): {accuracy:.2%}")


if __name__ == "__main__":
    main()
