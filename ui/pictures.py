"""Pictures for the pages: class colours blended by probability, diverging colours for unit maps, tiled
sheets, the decision-boundary picture with its points, PNG data URIs, hex colours to RGB.

Presentation only: the numbers behind a picture (grid_probs, hidden_unit_maps, ...) come from labs/.
Pictures are uint8 tensors [H, W, 3] (row 0 at the top); PIL is imported where it is used.
"""
import base64
import io

import numpy as np
import torch


def blend_class_colors(probs, colors):
    """Mix the class colours by probability: probs [n, n, C] @ colors [C, 3] -> uint8 [n, n, 3].

    A confident region shows its class's colour; a 50/50 region shows the average of two colours.
    """
    rgb = probs @ torch.as_tensor(colors, dtype=probs.dtype)     # [n, n, C] @ [C, 3] -> [n, n, 3]
    return rgb.clamp(0, 255).round().to(torch.uint8)


def diverging_colors(values, low=(0, 114, 178), mid=(247, 247, 247), high=(230, 159, 0), dims=None):
    """Map values [..] to colours: -max|v| -> low (blue), 0 -> mid (white), +max|v| -> high (orange).

    dims: the dimensions max|v| is taken over (each slice along the others on its own scale); None: all of them.
    """
    magnitude = values.abs()
    scale = (magnitude.max() if dims is None else magnitude.amax(dim=dims, keepdim=True)).clamp(min=1e-12)
    t = (values / scale).unsqueeze(-1)                           # [..., 1] in [-1, 1]
    low, mid, high = (torch.tensor(c, dtype=torch.float32) for c in (low, mid, high))
    rgb = torch.where(t < 0, mid + (mid - low) * t, mid + (high - mid) * t)
    return rgb.clamp(0, 255).round().to(torch.uint8)             # [..., 3]


def unit_pictures(maps):
    """maps [U, n, n] (row = y, from hidden_unit_maps) -> pictures [U, n, n, 3], each unit on its own colour scale.

    Rows are flipped so that the top row of each picture is the largest y, as on a plot.
    """
    return diverging_colors(maps.flip(1), dims=(1, 2))            # one scale per unit: max |v| over its own map


def tile_pictures(pictures, cols, gap=3):
    """Lay out pictures [U, h, w, 3] in a grid with `cols` columns and white gaps -> one uint8 picture."""
    U, h, w, _ = pictures.shape
    rows = -(-U // cols)                                          # ceil(U / cols)
    sheet = torch.full((rows * (h + gap) - gap, cols * (w + gap) - gap, 3), 255, dtype=torch.uint8)
    for u in range(U):
        r, c = divmod(u, cols)
        sheet[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = pictures[u]
    return sheet


def points_layer(xs, ys, X_train, y_train, X_test, y_test, colors, size=360):
    """The points of boundary_picture on a transparent layer, uint8 [size, size, 4] (alpha 0 between points).

    They do not move while the network trains, so a page draws them once and lays them over every frame.
    """
    from PIL import Image, ImageDraw
    layer = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    x0, x1, y0, y1 = xs[0].item(), xs[-1].item(), ys[0].item(), ys[-1].item()

    def pixel(p):                                   # plane -> picture coordinates (y grows downwards)
        return ((p[0] - x0) / (x1 - x0) * (size - 1), (y1 - p[1]) / (y1 - y0) * (size - 1))

    for (px, py), label in zip(map(pixel, X_train.tolist()), y_train.tolist()):
        draw.ellipse((px - 4, py - 4, px + 4, py + 4), fill=tuple(colors[label]) + (255,), outline=(0, 0, 0, 255))
    for (px, py), label in zip(map(pixel, X_test.tolist()), y_test.tolist()):
        for dx in (-4, 4):
            draw.line((px - 4, py + dx, px + 4, py - dx), fill=(0, 0, 0, 255), width=4)
            draw.line((px - 4, py + dx, px + 4, py - dx), fill=tuple(colors[label]) + (255,), width=2)
    return torch.from_numpy(np.asarray(layer).copy())


def boundary_frame(background, layer):
    """boundary_picture from a points_layer drawn once: the background scaled up, the points laid over it."""
    from PIL import Image
    size = layer.shape[0]
    picture = Image.fromarray(background.flip(0).numpy()).resize((size, size), Image.BILINEAR).convert("RGBA")
    picture.alpha_composite(Image.fromarray(layer.numpy(), "RGBA"))
    return torch.from_numpy(np.asarray(picture.convert("RGB")).copy())


def boundary_picture(background, xs, ys, X_train, y_train, X_test, y_test, colors, size=360):
    """The decision-boundary picture as one image, points drawn in (cheap to send many times a second).

    background: uint8 [n, n, 3] from blend_class_colors (row = y, ascending); xs, ys: its grid [n];
    colors: one (r, g, b) per class. Training points are filled dots, test points crosses.
    Returns uint8 [size, size, 3] with the largest y at the top, like a plot.
    """
    from PIL import Image, ImageDraw
    picture = Image.fromarray(background.flip(0).numpy()).resize((size, size), Image.BILINEAR)
    draw = ImageDraw.Draw(picture)
    x0, x1, y0, y1 = xs[0].item(), xs[-1].item(), ys[0].item(), ys[-1].item()

    def pixel(p):                                   # plane -> picture coordinates (y grows downwards)
        return ((p[0] - x0) / (x1 - x0) * (size - 1), (y1 - p[1]) / (y1 - y0) * (size - 1))

    for (px, py), label in zip(map(pixel, X_train.tolist()), y_train.tolist()):
        draw.ellipse((px - 4, py - 4, px + 4, py + 4), fill=tuple(colors[label]), outline=(0, 0, 0))
    for (px, py), label in zip(map(pixel, X_test.tolist()), y_test.tolist()):
        for dx in (-4, 4):
            draw.line((px - 4, py + dx, px + 4, py - dx), fill=(0, 0, 0), width=4)
            draw.line((px - 4, py + dx, px + 4, py - dx), fill=tuple(colors[label]), width=2)
    return torch.from_numpy(np.asarray(picture).copy())


def png_data_uri(rgb):
    """A uint8 [H, W, 3] picture as a small PNG data URI (row 0 drawn at the top)."""
    from PIL import Image
    buffer = io.BytesIO()
    Image.fromarray(rgb.numpy()).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def jpeg_data_uri(rgb, quality=90):
    """A uint8 [H, W, 3] picture as a JPEG data URI: what st.image makes of an RGB array, about 5x faster to
    encode than PNG (a live frame's picture: ~1.5 ms instead of ~8 for 440 x 440 pixels)."""
    from PIL import Image
    buffer = io.BytesIO()
    Image.fromarray(rgb.numpy()).save(buffer, format="JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def hex_to_rgb(color, lighten=0.0):
    """'#E69F00' -> (230, 159, 0); lighten=0.5 moves each channel half way to white."""
    color = color.lstrip("#")
    return tuple(round(c + (255 - c) * lighten) for c in (int(color[i:i + 2], 16) for i in (0, 2, 4)))
