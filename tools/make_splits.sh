#!/usr/bin/env bash
# Make the fixed synthetic splits with `amodal synth --split`:
#   train: 1000 videos, seed 1000 | val: 50 videos, seed 2000 | test: 100 videos, seed 3000
#   (32 frames, 320x240 each). About 4 GB for train; a few minutes on 2 cores per 1000 videos.
#
# Usage: tools/make_splits.sh [OUT_DIR] [extra amodal synth args...]
#   OUT_DIR defaults to work_data/synth; splits go to OUT_DIR/{train,val,test}.
#   Extra args are passed to every call, e.g. --config configs/synth/shifted.yaml --no-mp4 --overwrite
#   WORKERS (default 2) sets --workers; AMODAL (default: .venv/bin/amodal if present, else amodal).
set -euo pipefail

OUT="${1:-work_data/synth}"
if [ "$#" -gt 0 ]; then shift; fi
WORKERS="${WORKERS:-2}"
if [ -z "${AMODAL:-}" ]; then
    if [ -x .venv/bin/amodal ]; then AMODAL=.venv/bin/amodal; else AMODAL=amodal; fi
fi

for split in train val test; do
    echo "== $split -> $OUT/$split" >&2
    "$AMODAL" synth --split "$split" --out "$OUT/$split" --workers "$WORKERS" "$@"
done
echo "splits written under $OUT" >&2
