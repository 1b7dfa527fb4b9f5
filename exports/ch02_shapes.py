"""Chapter 2 (shape propagation), recomputed with the code of "Neural networks from scratch".

Run from the repository root (or with it on PYTHONPATH):  python ch02_shapes.py
Needs torch and the repo's core/, labs/ and datasets/ packages, nothing else. It reads the MNIST test split the way
the app does ($MNIST_DIR, data/mnist, then the split committed in datasets/mnist), draws the same batch_size images
with the seed, runs them through a fresh Kaiming-initialised 784-hidden-10 network one operation at a time and
prints the numbers the page showed. Every line is "name value".
The page fills in SETTINGS with its values when you download this script ("case": the page's "break it" choice).
"""
import torch

from core import losses, network
from datasets import mnist_files
from labs import ch02_shapes

# --- settings: the page fills these in when you download this script ---
SETTINGS = dict(batch_size=64, hidden=128, seed=0, case=None)
# --- end of settings ---


def main(settings=SETTINGS):
    B, H, seed = int(settings["batch_size"]), int(settings["hidden"]), int(settings["seed"])
    # 1. The batch: B test images picked by a generator seeded with seed
    g = torch.Generator().manual_seed(seed)
    X, y = mnist_files.load_mnist("test")  # [10000, 784] pixels in [0, 1], [10000] labels
    idx = torch.randperm(len(X), generator=g)[:B]  # which test images form the batch
    x, labels = X[idx], y[idx]  # [B, 784], [B]
    print("input real MNIST test images")

    # 2. The forward pass, one operation at a time, every intermediate kept
    params = network.init_mlp([784, H, 10], seed=seed)  # W1 [784, H], b1 [H], W2 [H, 10], b2 [10]
    steps = ch02_shapes.trace_forward(params, x)
    value = {s["name"]: s["value"] for s in steps}
    for s in steps:
        key = s["name"].replace(" @ ", "@").replace(" ", "_")  # "x @ W1" -> "x@W1", "b1 broadcast" -> "b1_broadcast"
        print(f"{key}.shape {list(s['shape'])}")
        print(f"{key}.numbers {s['value'].numel()}")
        print(f"{key}.bytes_owned {ch02_shapes.owned_bytes(s['value'])}")  # a broadcast view owns only its source
        print(f"{key}.multiply_adds {s['madds']}")

    logits_net, _ = network.forward(params, x)  # the same maths through core.network's loop
    print(f"output_shape {list(value['logits'].shape)}")
    print(f"multiply_adds_total {ch02_shapes.total_madds(steps):,}")
    print(f"hidden_values_zeroed_by_relu {(value['h'] == 0).float().mean().item():.1%}")
    print(f"max_abs_trace_minus_network_forward {(value['logits'] - logits_net).abs().max().item():.1e}")
    for name in ("z1", "h", "logits", "probs"):  # image 0, the first six entries of each row
        print(f"first_six[{name}]", [round(v, 4) for v in value[name][0, :6].tolist()])
    print(f"largest_row_sum_error {value['probs'].sum(dim=1).sub(1).abs().max().item():.1e}")
    print("true_digit_0", int(labels[0]))
    print("guess_0", int(value["logits"][0].argmax()))
    print("guesses_0_to_7", value["logits"][:8].argmax(dim=1).tolist())
    print("labels_0_to_7", labels[:8].tolist())
    print(f"cross_entropy {losses.cross_entropy(value['logits'], labels).item():.3f}")

    if settings["case"] is not None:
        # 3. "Break it": the same forward pass with one wrongly shaped tensor
        broke = ch02_shapes.break_forward(params, x, settings["case"])
        print("break_code", broke["code"])
        print("break_result", f"RuntimeError: {broke['error']}" if broke["error"] else f"shape {list(broke['shape'])}")


if __name__ == "__main__":
    torch.set_num_threads(1)  # like the app: the rounding of a matmul can depend on the thread count
    main()
