"""Rendering: rasterise every layer per frame with OpenCV, composite back to front, then apply
lighting, blur, noise and compression.

Exactness: a layer's amodal mask is its polygon rasterised (threshold 0.5 of the anti-aliased
coverage) and clipped to the frame; a pixel's visible owner is the front-most layer whose mask
covers it. So visible masks are disjoint and each is inside its amodal mask. With
`antialias=False` and no photometric effects, every pixel of a visible mask carries exactly the
colour of its object's texture.
"""
from __future__ import annotations

from typing import List, Optional, Tuple

import cv2
import numpy as np

from amodal.data.synth.scene import TEXTURE_EXTENT, Scene, SceneObject, SynthVideo
from amodal.data.synth.shapes import pose_parts

_SHIFT = 4  # fixed-point bits for sub-pixel polygon vertices
_ONE = 1 << _SHIFT


def line_kernel(dx: float, dy: float) -> Optional[np.ndarray]:
    """Normalised motion-blur kernel along (dx, dy) pixels, or None when shorter than ~1.5 px."""
    length = float(np.hypot(dx, dy))
    if length < 1.5:
        return None
    k = int(np.ceil(length)) | 1
    ker = np.zeros((k, k), np.float32)
    c = (k - 1) / 2
    p0 = (int(round((c - dx / 2) * _ONE)), int(round((c - dy / 2) * _ONE)))
    p1 = (int(round((c + dx / 2) * _ONE)), int(round((c + dy / 2) * _ONE)))
    cv2.line(ker, p0, p1, 1.0, 1, cv2.LINE_AA, _SHIFT)
    s = ker.sum()
    return ker / s if s > 0 else None


def image_polygons(obj: SceneObject, cam: np.ndarray, t: int) -> Tuple[np.ndarray, List[np.ndarray]]:
    """Canonical -> image matrix (3, 3) and the object's part polygons [(N_i, 2)] in image pixels at frame t."""
    tr = obj.track
    mat = cam @ tr.matrix(t)
    parts = [tr.deform_points(p, t) for p in pose_parts(obj.shape, tr.swing, t, tr.omega * 2.0)]
    lin, off = mat[:2, :2], mat[:2, 2]
    return mat, [p @ lin.T + off for p in parts]


def rasterise(polygons: List[np.ndarray], origin: Tuple[int, int], shape: Tuple[int, int],
              antialias: bool) -> np.ndarray:
    """Coverage (h, w) uint8 of the union of image-space polygons in the box at `origin` (x, y)."""
    alpha = np.zeros(shape, np.uint8)
    line = cv2.LINE_AA if antialias else cv2.LINE_8
    o = np.asarray(origin, float)
    for p in polygons:
        cv2.fillPoly(alpha, [np.round((p - o) * _ONE).astype(np.int32)], 255, line, _SHIFT)
    return alpha


def coverage_mask(alpha: np.ndarray) -> np.ndarray:
    """The binary silhouette of a coverage image: at least half covered."""
    return alpha >= 128


class _Layer:
    """Geometry of one object in one frame (local box, coverage, pixel velocity)."""

    __slots__ = ("x0", "y0", "x1", "y1", "alpha", "mask", "matrix", "extent", "kernel")

    def __init__(self) -> None:
        self.alpha: Optional[np.ndarray] = None
        self.mask: Optional[np.ndarray] = None
        self.kernel: Optional[np.ndarray] = None


def _layer(obj: SceneObject, cam: np.ndarray, prev_cam: np.ndarray, t: int, width: int, height: int,
           exposure: float, antialias: bool) -> _Layer:
    tr = obj.track
    mat, pts = image_polygons(obj, cam, t)
    allp = np.concatenate(pts)
    lay = _Layer()
    lay.matrix = mat
    lay.extent = np.array([allp[:, 0].min(), allp[:, 1].min(), allp[:, 0].max(), allp[:, 1].max()])
    if exposure > 0 and t > 0:
        prev = prev_cam @ tr.matrix(t - 1)
        d = (mat[:2, 2] - prev[:2, 2]) * exposure
        lay.kernel = line_kernel(float(d[0]), float(d[1]))
    pad = 2 + (lay.kernel.shape[0] // 2 if lay.kernel is not None else 0)
    x0 = max(int(np.floor(lay.extent[0])) - pad, 0)
    y0 = max(int(np.floor(lay.extent[1])) - pad, 0)
    x1 = min(int(np.ceil(lay.extent[2])) + pad + 1, width)
    y1 = min(int(np.ceil(lay.extent[3])) + pad + 1, height)
    lay.x0, lay.y0, lay.x1, lay.y1 = x0, y0, x1, y1
    if x1 <= x0 or y1 <= y0:
        return lay
    # Rasterise with a 2-pixel apron so polygon clipping at the canvas border never touches the box.
    alpha = rasterise(pts, (x0 - 2, y0 - 2), (y1 - y0 + 4, x1 - x0 + 4), antialias)[2:-2, 2:-2]
    lay.mask = coverage_mask(alpha)
    if not lay.mask.any():
        lay.mask = None
        return lay
    lay.alpha = alpha
    return lay


def _texture_patch(obj: SceneObject, lay: _Layer) -> np.ndarray:
    """Warp the object's texture into its local box: (h, w, 3) float32."""
    s = obj.texture.shape[0]
    unit = 2 * TEXTURE_EXTENT / s  # canonical units per texture pixel
    tex_to_can = np.array([[unit, 0, -TEXTURE_EXTENT + unit / 2], [0, unit, -TEXTURE_EXTENT + unit / 2], [0, 0, 1]])
    local = np.array([[1, 0, -lay.x0], [0, 1, -lay.y0], [0, 0, 1]], float)
    m = (local @ lay.matrix @ tex_to_can)[:2]
    return cv2.warpAffine(obj.texture, m, (lay.x1 - lay.x0, lay.y1 - lay.y0), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT)


def _shadow(canvas: np.ndarray, lay: _Layer, strength: float, offset: np.ndarray, blur: float) -> None:
    """Darken what lies behind the layer by its blurred, displaced coverage (in place)."""
    h, w = canvas.shape[:2]
    pad = int(np.ceil(blur * 3))
    a = cv2.copyMakeBorder(lay.alpha, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0).astype(np.float32)
    if blur > 0.3:
        a = cv2.GaussianBlur(a, (0, 0), blur)
    dx, dy = int(round(offset[0])), int(round(offset[1]))
    gx0, gy0 = lay.x0 - pad + dx, lay.y0 - pad + dy
    sx0, sy0 = max(gx0, 0), max(gy0, 0)
    sx1, sy1 = min(gx0 + a.shape[1], w), min(gy0 + a.shape[0], h)
    if sx1 <= sx0 or sy1 <= sy0:
        return
    sub = a[sy0 - gy0:sy1 - gy0, sx0 - gx0:sx1 - gx0]
    canvas[sy0:sy1, sx0:sx1] *= (1.0 - (strength / 255.0) * sub)[..., None]


def _composite(canvas: np.ndarray, obj: SceneObject, lay: _Layer) -> None:
    tex = _texture_patch(obj, lay)
    alpha = lay.alpha
    if lay.kernel is not None:
        a = cv2.filter2D(alpha.astype(np.float32), -1, lay.kernel, borderType=cv2.BORDER_CONSTANT) / 255.0
        tex = cv2.filter2D(tex, -1, lay.kernel, borderType=cv2.BORDER_REPLICATE)
    else:
        a = alpha.astype(np.float32) / 255.0
    region = canvas[lay.y0:lay.y1, lay.x0:lay.x1]
    a3 = a[..., None]
    region *= 1.0 - a3
    region += tex * a3


def _swap_depths(order: List[int], layers: List[_Layer], rng: np.random.Generator, prob: float) -> None:
    """Swap one random adjacent pair of layers in `order` if their masks do not touch (in place)."""
    if prob <= 0 or len(order) < 2 or rng.random() >= prob:
        return
    i = int(rng.integers(len(order) - 1))
    a, b = layers[order[i]], layers[order[i + 1]]
    if a.mask is not None and b.mask is not None:
        ox0, oy0 = max(a.x0, b.x0), max(a.y0, b.y0)
        ox1, oy1 = min(a.x1, b.x1), min(a.y1, b.y1)
        if ox1 > ox0 and oy1 > oy0:
            ma = a.mask[oy0 - a.y0:oy1 - a.y0, ox0 - a.x0:ox1 - a.x0]
            mb = b.mask[oy0 - b.y0:oy1 - b.y0, ox0 - b.x0:ox1 - b.x0]
            if np.logical_and(cv2.dilate(ma.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0, mb).any():
                return
    order[i], order[i + 1] = order[i + 1], order[i]


def _finish(canvas: np.ndarray, scene: Scene, t: int, grid: Tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Lighting, camera blur, defocus, noise, quantisation and JPEG of one frame -> uint8 (H, W, 3)."""
    ph = scene.photometric
    amp, c, s = (float(v) for v in ph.gradient[t])
    if amp > 0:
        canvas *= (1.0 + amp * (grid[0] * c + grid[1] * s))[..., None] * ph.gain[t]
    else:
        canvas *= ph.gain[t]
    if ph.exposure > 0 and t > 0:
        centre = np.array([scene.width / 2, scene.height / 2, 1.0])
        world = np.linalg.inv(scene.cameras[t]) @ centre
        d = (centre - scene.cameras[t - 1] @ world)[:2] * ph.exposure
        ker = line_kernel(float(d[0]), float(d[1]))
        if ker is not None:
            canvas = cv2.filter2D(canvas, -1, ker, borderType=cv2.BORDER_REFLECT)
    if ph.defocus > 0.3:
        canvas = cv2.GaussianBlur(canvas, (0, 0), ph.defocus)
    if ph.noise > 0 and ph.noise_bank is not None:  # bank is pre-scaled by the noise sigma
        k, dy, dx = (int(v) for v in ph.noise_offsets[t])
        img = cv2.add(canvas, ph.noise_bank[k, dy:dy + scene.height, dx:dx + scene.width], dtype=cv2.CV_8U)
    else:
        img = np.clip(canvas + 0.5, 0, 255).astype(np.uint8)
    if ph.jpeg_quality > 0:
        params = [cv2.IMWRITE_JPEG_QUALITY, int(ph.jpeg_quality)]
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), params)
        if ok:
            img = cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return img


def render_scene(scene: Scene) -> SynthVideo:
    """Render all frames and exact masks of `scene`."""
    w, h, n_frames = scene.width, scene.height, scene.frames
    annotated = [i for i, o in enumerate(scene.objects) if o.annotated]
    slot = {obj: k for k, obj in enumerate(annotated)}
    n = len(annotated)
    frames = np.zeros((n_frames, h, w, 3), np.uint8)
    visible = np.zeros((n, n_frames, h, w), bool)
    amodal = np.zeros((n, n_frames, h, w), bool)
    extents = np.zeros((n, n_frames, 4))
    depth_rank = np.zeros((n_frames, n), int)
    order = list(scene.depth)
    rng = np.random.default_rng(scene.swap_seed)
    ph = scene.photometric
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    grid = ((xx - w / 2) / max(w, h), (yy - h / 2) / max(w, h))
    bg_shift = np.array([[1, 0, scene.bg_origin[0]], [0, 1, scene.bg_origin[1]], [0, 0, 1]], float)
    for t in range(n_frames):
        cam = scene.cameras[t]
        prev_cam = scene.cameras[t - 1] if t > 0 else cam
        layers = [_layer(o, cam, prev_cam, t, w, h, ph.exposure, ph.antialias) for o in scene.objects]
        _swap_depths(order, layers, rng, scene.swap_prob)
        canvas = cv2.warpAffine(scene.background, (cam @ bg_shift)[:2], (w, h), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REFLECT)
        owner = np.full((h, w), -1, np.int16)
        for rank, i in enumerate(order):
            obj, lay = scene.objects[i], layers[i]
            if i in slot:
                extents[slot[i], t] = lay.extent
                depth_rank[t, slot[i]] = rank
            if lay.mask is None:
                continue
            if obj.shadow > 0:
                _shadow(canvas, lay, obj.shadow, ph.shadow_offset, ph.shadow_blur)
            _composite(canvas, obj, lay)
            owner[lay.y0:lay.y1, lay.x0:lay.x1][lay.mask] = i
            if i in slot:
                amodal[slot[i], t, lay.y0:lay.y1, lay.x0:lay.x1] = lay.mask
        for i, k in slot.items():
            if layers[i].mask is not None:
                lay = layers[i]
                visible[k, t, lay.y0:lay.y1, lay.x0:lay.x1] = owner[lay.y0:lay.y1, lay.x0:lay.x1] == i
        frames[t] = _finish(canvas, scene, t, grid)
    return SynthVideo(frames=frames, visible=visible, amodal=amodal,
                      category_ids=[scene.objects[i].category_id for i in annotated],
                      depth_rank=depth_rank, extents=extents)
