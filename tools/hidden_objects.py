"""How well a prediction file covers the objects that are wholly hidden, and what it reports that is not there.

An amodal object can be hidden entirely for a few frames (visible mask empty, amodal mask not);
`amodal` keeps predicting such objects from their memory (docs/INFERENCE.md, "Hidden objects").
For predictions whose track ids are the ground truth's annotation ids (`amodal eval --given-visible`
writes them), this counts:

- `hidden`: ground-truth object-frames with an empty visible and a non-empty amodal mask;
- `reported`: how many of them the predictions give a non-empty amodal mask;
- `iou`: mean amodal IoU over all of them (0 where not reported), and `iou_reported` over the
  reported ones only; `half`: how many of them are predicted at IoU >= 0.5;
- `hidden_outputs`: predicted object-frames with an empty visible and a non-empty amodal mask, and
  `phantoms`: how many of them are frames where the object is not in the frame at all (empty
  amodal truth: it left, or had not come yet).

    amodal eval --gt DATA/annotations.json --given-visible --out RUN
    python tools/hidden_objects.py DATA/annotations.json RUN/predictions.json [--json result.json]
"""
from __future__ import annotations

import argparse
import sys
from typing import Dict, List, Sequence

import numpy as np


def count_hidden(dataset, tracks: Sequence) -> Dict[str, float]:
    """The counts above for an `AmodalDataset` (with amodal masks) and `PredictionTrack`s matched by id."""
    from pycocotools import mask as mask_utils

    from amodal.errors import InputError
    from amodal.eval.matching import present_rle

    pred = {(int(p.video_id), int(p.track_id)): p for p in tracks}
    ious: List[float] = []
    reported: List[float] = []
    outputs = phantoms = 0
    for video in dataset.videos:
        for obj in dataset.tracks(video.id):
            if obj.amodal_segmentations is None:
                raise InputError(f"object {obj.id} of video {video.id} has no amodal masks: a hidden object needs them")
            p = pred.get((int(video.id), int(obj.id)))
            for t in range(int(video.length)):
                truth = present_rle(obj.amodal_segmentations, t)
                seen = present_rle(obj.segmentations, t) is not None
                guess = present_rle(p.amodal_segmentations or [], t) if p is not None else None
                if guess is not None and p is not None and present_rle(p.segmentations, t) is None:
                    outputs += 1
                    phantoms += truth is None
                if truth is not None and not seen:
                    ious.append(float(mask_utils.iou([guess], [truth], [0])[0][0]) if guess is not None else 0.0)
                    if guess is not None:
                        reported.append(ious[-1])
    return {"hidden": len(ious), "reported": len(reported),
            "iou": round(float(np.mean(ious)), 4) if ious else float("nan"),
            "iou_reported": round(float(np.mean(reported)), 4) if reported else float("nan"),
            "half": int(sum(x >= 0.5 for x in ious)),
            "hidden_outputs": outputs, "phantoms": phantoms}


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("annotations", help="native annotations with amodal masks")
    parser.add_argument("predictions", help="predictions.json whose track ids are the annotation ids")
    parser.add_argument("--json", help="also write the result to this file")
    args = parser.parse_args(argv)
    from amodal.data.format import load_dataset, load_predictions
    from amodal.utils.files import run_json_tool

    def compute():
        dataset = load_dataset(args.annotations, read_amodal=True, check_files=False)
        return count_hidden(dataset, load_predictions(args.predictions, dataset))

    return run_json_tool("hidden_objects", compute, args.json)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
