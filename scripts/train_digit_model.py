"""Train the 784-128-10 digit reader used by the "Draw a digit" page, from scratch (core.train, Adam).

    python scripts/train_digit_model.py [--epochs 12] [--seed 0] [--download]

Uses full MNIST (60,000 training images) when its files are found (or --download fetches them);
otherwise the 10,000-image MNIST test split: the first 8,000 to train on, the last 2,000 held out.
Writes models/mnist_784_128_10.pt (a dict of W1, b1, W2, b2 tensors) and a .json note next to it
with what the model was trained on and its accuracy measured on the held-out images.
"""
import argparse
import datetime
import json
import shlex
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from core import metrics, network, train  # noqa: E402
from labs import ch00_draw_digit  # noqa: E402
from datasets import mnist_files  # noqa: E402

OUT = ROOT / "models" / "mnist_784_128_10.pt"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--download", action="store_true", help="try to download full MNIST first")
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)

    if args.download:
        try:
            mnist_files.download_mnist(
                progress=lambda f, msg: print(f"\r[{f:6.1%}] {msg[:90]:<90}", end="", flush=True))
            print()
        except mnist_files.MnistError as e:
            print(f"\ndownload failed, using what is on disk: {e}")
    X_train, y_train, X_test, y_test, source = mnist_files.mnist_train_test()
    print(f"data: {source}")

    torch.manual_seed(args.seed)
    params = network.init_mlp([784, 128, 10], init="kaiming", seed=args.seed)
    start = time.perf_counter()
    for m in train.train_scratch(params, X_train, y_train, optimizer="adam", lr=args.lr,
                                 batch_size=args.batch_size, epochs=args.epochs, seed=args.seed,
                                 X_test=X_test, y_test=y_test):
        if m["diverged"]:
            raise SystemExit(m["reason"])
        if "test_acc" in m:
            print(f"epoch {m['epoch']:2d}/{args.epochs}  step {m['step']:6d}  "
                  f"held-out loss {m['test_loss']:.4f}  held-out accuracy {m['test_acc']:.4f}  "
                  f"({time.perf_counter() - start:.1f} s)", flush=True)
    seconds = time.perf_counter() - start

    result = metrics.evaluate(params, X_test, y_test)
    train_result = metrics.evaluate(params, X_train, y_train)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    ch00_draw_digit.save_weights(params, out)
    info = {
        "architecture": "784-128-10, ReLU, from core.network (W1 [784,128], b1 [128], W2 [128,10], b2 [10])",
        "trained_on": source,
        "data_dir": str(mnist_files.find_mnist_dir("test")),
        "n_train": int(len(X_train)),
        "n_test": int(len(X_test)),
        "held_out": "last 2,000 images of the MNIST test split" if len(X_test) == mnist_files.HELD_OUT
                    else "the 10,000-image MNIST test split",
        "test_accuracy": round(result["acc"], 4),
        "test_loss": round(result["loss"], 4),
        "train_accuracy": round(train_result["acc"], 4),
        "optimizer": "adam (core.optim.adam_step via core.train.train_scratch)",
        "init": "kaiming",
        "lr": args.lr,
        "batch_size": args.batch_size,
        "epochs": args.epochs,
        "seed": args.seed,
        "train_seconds": round(seconds, 1),
        "date": datetime.date.today().isoformat(),
        "torch": torch.__version__,
        "command": "python " + " ".join(
            shlex.quote(a) for a in ["scripts/train_digit_model.py", *(argv if argv is not None else sys.argv[1:])]),
    }
    out.with_suffix(".json").write_text(json.dumps(info, indent=2) + "\n")
    print(f"held-out accuracy {result['acc']:.4f} on {len(X_test):,} images; train accuracy "
          f"{train_result['acc']:.4f}; {seconds:.1f} s; wrote {out} and {out.with_suffix('.json')}")


if __name__ == "__main__":
    main()
