"""Evaluation toolkit behind `amodal eval` (see docs/EVALUATION.md).

Modules:
    metrics    per object-frame pixel counts of every IoU variant, boundary F counts
    evaluator  AmodalEvaluator: reset / process / summarize, merge and state_dict
    matching   predicted tracks -> gt objects by mean visible IoU (Hungarian, >= 0.5)
    baselines  model name table (`ours`, `copy`, `convex`, registered ones)
    run        score prediction tracks against a dataset; run a model over a dataset
    report     terminal / Markdown tables, scores.json, IoU-vs-occlusion plot
"""
from amodal.eval.evaluator import DEFAULT_BUCKETS, AmodalEvaluator
from amodal.eval.metrics import VARIANTS

__all__ = ["AmodalEvaluator", "DEFAULT_BUCKETS", "VARIANTS"]
