"""torch's global random generator, and how the server avoids it.

Every simulation draws from its own torch.Generator(). torch's *global* generator (torch.manual_seed,
torch.rand without generator=, nn.Linear's starting weights, nn.Dropout's masks) is one object per process:
every session of the server runs in its own thread and shares it. One session's torch.manual_seed(seed)
followed by a draw is not atomic: another session can reseed it or draw from it in between, and the first
session gets other numbers. Measured before this module: 12 sessions opening the chapter-11 page at once
got "8 / 9 rows equal" or "Same mask as nn.Dropout: no" in 7 of 12.

Two tools:
  zero_linear         an nn.Linear built without any draw (its numbers are copied in afterwards);
  seeded_global_rng   for the few torch calls that can only use the global generator (nn.Linear's own
                      initialisation, nn.Dropout / F.dropout's mask): one lock, so that seeding and drawing
                      happen together, and the generator's previous state is put back afterwards.
"""
import contextlib
import threading

import torch

# One lock per process. Every server-side use of torch's global generator happens inside
# seeded_global_rng; nothing else in the server draws from it (tests/test_global_rng.py checks both).
_GLOBAL_RNG_LOCK = threading.Lock()


@contextlib.contextmanager
def seeded_global_rng(seed):
    """Run the block with torch's global CPU generator seeded with `seed`, with no other session using it.

    Inside, the block is alone with the generator: torch.manual_seed(seed) has just run, as in the lesson.
    Afterwards the generator is back in the state it had before (torch.random.fork_rng).
    """
    with _GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def zero_linear(fan_in, fan_out, dtype=None, device=None):
    """nn.Linear(fan_in, fan_out) with weight [out, in] and bias [out] all zero, drawing no random number.

    nn.Linear's own __init__ fills its weights from the global generator; torch.nn.utils.skip_init builds
    the layer without that fill, and the zeros make a weight that was never copied in easy to see.
    """
    layer = torch.nn.utils.skip_init(torch.nn.Linear, fan_in, fan_out, dtype=dtype, device=device or "cpu")
    with torch.no_grad():
        layer.weight.zero_()
        layer.bias.zero_()
    return layer
