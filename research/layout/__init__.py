"""Layouts: boxes and their conversions, tokenization, layout and diagram metrics, rendering.

Convention shared by the modules here: a batch of layouts is `boxes` [B, S, 4]
float32 with `mask` [B, S] bool (True = a real element; padded slots hold
anything and are ignored) and, where classes matter, `labels` [B, S] int32.
Unless a function says otherwise, boxes are normalised centre boxes
(cx, cy, w, h) in [0, 1] relative to the canvas, as LayoutGAN++, BLT and
LayoutDM store them.
"""
