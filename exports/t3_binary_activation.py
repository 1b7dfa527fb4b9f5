"""Binary classifier with your own activation: a 2-H-1 network of nn.Parameter layers, trained with full-batch
Adam on a 2-D dataset (300 points), as on the binary-activation page (tutorial 003).

Needs torch, sympy and simpleeval, and this repository's core/ and labs/ packages: labs.t3_binary_activation turns
the typed formula into torch operations through a checked syntax tree (it never calls eval). Run it from the
repository root, or with the root on PYTHONPATH:
    python t3_binary_activation.py
It prints what the page showed: the derivative check, the training results and the layer check.
The page fills in SETTINGS with its values when you download this script.
"""
import torch

from core import data, losses, network
from labs import t3_binary_activation

# --- settings: the page fills these in when you download this script ---
SETTINGS = dict(formula="x*sigmoid(x)", dataset="circles", hidden=8, lr=0.03, epochs=200, noise=0.1, seed=0)
# --- end of settings ---


def main(settings=SETTINGS):
    s = settings
    text, seed = s["formula"], int(s["seed"])  # the activation typed on the page
    # 1. The activation: sympy's derivative against autograd's on [-2, 2].
    act = t3_binary_activation.activation_from_formula(text)  # raises FormulaError if the text is not allowed
    check = t3_binary_activation.compare_derivative(act)
    print(f"f(x): {act['expr']}")
    print(f"f'(x) (sympy): {act['derivative']}")
    print(f"max |sympy f' - autograd f'| on [-2, 2]: {check['max_abs_diff']:.2e}")

    # 2. Train the yes/no classifier with it as the hidden activation.
    X, y = data.make_2d(s["dataset"], n=300, noise=s["noise"], seed=seed)  # X [300, 2], y [300] in {0, 1}
    model = t3_binary_activation.binary_classifier(int(s["hidden"]), act["f"], seed=seed, name=text)
    history = t3_binary_activation.train_binary(model, X, y, lr=s["lr"], epochs=int(s["epochs"]))
    if history["diverged"]:
        print(f"Training stopped: {history['diverged']}")
    with torch.no_grad():
        probs = network.sigmoid(model(X).squeeze(1))  # [300], P(class 1) after training
    bce_difference = "n/a"
    if torch.isfinite(probs).all():
        ours = float(losses.binary_cross_entropy(probs, y.float()))
        theirs = float(torch.nn.functional.binary_cross_entropy(probs, y.float()))
        bce_difference = f"{abs(ours - theirs):.1e}"
    # the loss and accuracy of the last epoch, measured (like the page) just before its update
    print(f"Final training loss (BCE): {history['loss'][-1]:.4f}" if history["loss"] else
          "Final training loss (BCE): n/a")
    print(f"Training accuracy: {history['accuracy'][-1]:.1%}" if history["accuracy"] else "Training accuracy: n/a")
    print(f"Epochs run: {len(history['loss'])}")
    print(f"|our BCE - F.binary_cross_entropy|: {bce_difference}")
    print(f"Numbers to learn: {sum(p.numel() for p in model.parameters()):,}")

    # 3. One CustomLinear against nn.Linear holding the same numbers (max abs difference).
    for name, value in t3_binary_activation.compare_custom_linear().items():
        print(f"CustomLinear vs nn.Linear, {name}: {value}")


if __name__ == "__main__":
    main()
