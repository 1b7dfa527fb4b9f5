"""Train the final bias of the dose -> effectiveness network (tutorial 000).

Standalone: needs only torch. Run it anywhere:  python t0_first_network.py
The page fills in SETTINGS with its values when you download this script; every printed line is "name value".
"""
import torch
import torch.nn.functional as F

# --- settings: the page fills these in when you download this script ---
SETTINGS = dict(
    params={"w00": 1.7, "b00": -0.85, "w01": -40.8, "w10": 12.6, "b10": 0.0, "w11": 2.7},  # the frozen six
    lr=0.1,
    start_bias=0.0,
    max_epochs=100,
)
# --- end of settings ---

DOSES = [0.0, 0.5, 1.0]  # low dose -> no effect, medium dose -> full effect, high dose -> no effect
EFFECT = [0.0, 1.0, 0.0]


def net(dose, p, bias):
    top = F.relu(dose * p["w00"] + p["b00"]) * p["w01"]
    bottom = F.relu(dose * p["w10"] + p["b10"]) * p["w11"]
    return F.relu(top + bottom + bias)


def main(settings=SETTINGS):
    p = {k: float(v) for k, v in settings["params"].items() if k != "final_bias"}
    doses, targets = torch.tensor(DOSES), torch.tensor(EFFECT)
    bias = torch.tensor(float(settings["start_bias"]), requires_grad=True)
    lr = float(settings["lr"])
    stop = None
    for epoch in range(int(settings["max_epochs"])):
        total_loss = 0.0
        for dose, target in zip(doses, targets, strict=True):
            loss = (net(dose, p, bias) - target) ** 2
            loss.backward()  # gradients of the three points add up
            total_loss += loss.item()
        if total_loss < 0.0001:
            stop = epoch
            break
        with torch.no_grad():
            bias.add_(bias.grad, alpha=-lr)  # bias = bias - lr * grad, as optim.SGD does it
        bias.grad.zero_()
    print("stop_epoch", stop)
    print("final_bias", f"{bias.item():.4f}")


if __name__ == "__main__":
    main()
