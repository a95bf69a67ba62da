"""Images for TensorBoard that say what they show: rows of pictures, each row named on its left.

TensorBoard shows an image at its own size, with no caption: a 242x62 strip of 28x28 digits
told nobody which row was the input. Here each picture is scaled up (nearest neighbour: the
pixels stay pixels) and every row gets its name written beside it (Pillow's own font).
"""

from typing import List, Tuple

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

SCALE = 3  # 28x28 digits become 84x84
PADDING = 2  # white between pictures, before scaling
FONT_SIZE = 16


def labelled_rows(rows: List[Tuple[str, torch.Tensor]], scale: int = SCALE) -> torch.Tensor:
    """rows: (name, pictures (N, C, H, W) in [0, 1]) -> one (3, H, W) image in [0, 1], each row's
    name on its left, for SummaryWriter.add_image."""
    from torchvision.utils import make_grid

    names = [name for name, _ in rows]
    pictures = torch.cat([p.float().clamp(0, 1).cpu() for _, p in rows])
    per_row = len(rows[0][1])
    grid = make_grid(pictures, nrow=per_row, padding=PADDING, pad_value=1.0)  # (3, H, W)
    grid = torch.nn.functional.interpolate(grid[None], scale_factor=scale, mode="nearest")[0]
    font = ImageFont.load_default(size=FONT_SIZE)
    margin = max(int(font.getlength(name)) for name in names) + 2 * FONT_SIZE // 2
    height, width = grid.shape[1:]
    canvas = Image.new("RGB", (margin + width, height), "white")
    canvas.paste(Image.fromarray((grid.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)), (margin, 0))
    draw, row_height = ImageDraw.Draw(canvas), height / len(rows)
    for i, name in enumerate(names):
        draw.text((FONT_SIZE // 2, (i + 0.5) * row_height), name, fill="black", font=font, anchor="lm")
    return torch.from_numpy(np.asarray(canvas, dtype=np.float32) / 255).permute(2, 0, 1)
