#!/usr/bin/env bash
# Measure self-supervised fine-tuning and test-time adaptation on a domain-shifted world.
# Writes OUT/table.md (the table of docs/ADAPTATION.md), OUT/times.tsv and every eval folder.
#
#   tools/measure_adaptation.sh [CKPT] [OUT]
#   (defaults: amodal/weights/default.pt, work_data/adaptation)
#
# Environment: VIDEOS (test videos used, default 20), TTA_STEPS (default 100), FT_STEPS (default 300),
# PROTOCOLS (default "gv e2e"; "gv" alone skips the end-to-end runs), SETS (extra `key=value`
# overrides of the fine-tuning recipe, space-separated, e.g. "train.loss_weights.anchor=0"),
# AMODAL (the amodal command, default .venv/bin/amodal), PYTHON, OMP_NUM_THREADS (default 2).
#
# Protocols: "given visible" = the true visible masks are given to the model, for adaptation too
# (as when a user has SAM2/Cutie masks); "end to end" = the model finds and tracks the objects
# itself, and adaptation uses its own visible masks. Amodal ground truth is read by the scorer only.
set -euo pipefail
CKPT=${1:-amodal/weights/default.pt}
OUT=${2:-work_data/adaptation}
VIDEOS=${VIDEOS:-20}
TTA_STEPS=${TTA_STEPS:-100}
FT_STEPS=${FT_STEPS:-300}
AM=${AMODAL:-.venv/bin/amodal}
PY=${PYTHON:-.venv/bin/python}
HERE=$(dirname "$0")
PROTOCOLS=${PROTOCOLS:-gv e2e}
SET_ARGS=()
for kv in ${SETS:-}; do SET_ARGS+=(--set "$kv"); done
has() { [[ " $PROTOCOLS " == *" $1 "* ]]; }
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
TEST=work_data/shifted/test
OTHER=work_data/shifted/other
GT=$TEST/annotations.json

[ -f "$CKPT" ] || { echo "checkpoint $CKPT not found" >&2; exit 2; }
[ -f "$GT" ] || $AM synth --config configs/synth/shifted.yaml --out $TEST --videos 20 --seed 4000 --quiet
# Disjoint unlabeled footage of the same world: fine-tune there, apply to the test videos.
[ -f "$OTHER/annotations.json" ] || $AM synth --config configs/synth/shifted.yaml --out $OTHER --videos 20 --seed 5000 --quiet
mkdir -p "$OUT"
: > "$OUT/times.tsv"

timed() {  # timed NAME command... : runs the command, appends "NAME<TAB>seconds" to times.tsv
  local name=$1; shift
  local t0=$EPOCHREALTIME
  "$@"
  echo -e "$name\t$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}')" >> "$OUT/times.tsv"
}

# The first VIDEOS test videos (and as many other videos), as folders of links for `train --data`.
rm -rf "$OUT/test_videos" "$OUT/other_videos"; mkdir -p "$OUT/test_videos" "$OUT/other_videos"
ls $TEST/videos/*.mp4 | head -n "$VIDEOS" | while read -r v; do ln -s "$(realpath "$v")" "$OUT/test_videos/"; done
ls $OTHER/videos/*.mp4 | head -n "$VIDEOS" | while read -r v; do ln -s "$(realpath "$v")" "$OUT/other_videos/"; done

# 1. The checkpoint as shipped.
has gv  && timed base_gv  $AM eval --gt $GT --checkpoint "$CKPT" --given-visible --max-videos "$VIDEOS" --out "$OUT/base_gv" --overwrite
has e2e && timed base_e2e $AM eval --gt $GT --checkpoint "$CKPT" --max-videos "$VIDEOS" --out "$OUT/base_e2e" --overwrite

# 2. Fine-tuning (amodal train --data) on the test videos themselves (no labels: transductive) and
#    on disjoint videos of the same world (inductive), with given or own visible masks.
for SRC in test other; do
  [ "$SRC" = test ] && ANN=$GT || ANN=$OTHER/annotations.json
  if has gv; then
    timed ft_${SRC}_gv  $AM train --data "$OUT/${SRC}_videos" --visible-masks "$ANN" --init "$CKPT" \
        --config configs/finetune.yaml --set train.steps=$FT_STEPS "${SET_ARGS[@]}" --out "$OUT/ft_${SRC}_gv" --overwrite --quiet
    timed ft_${SRC}_gv_eval  $AM eval --gt $GT --checkpoint "$OUT/ft_${SRC}_gv/model.pt" --given-visible \
        --max-videos "$VIDEOS" --out "$OUT/ft_${SRC}_gv_eval" --overwrite
  fi
  if has e2e; then
    timed ft_${SRC}_e2e $AM train --data "$OUT/${SRC}_videos" --init "$CKPT" \
        --config configs/finetune.yaml --set train.steps=$FT_STEPS "${SET_ARGS[@]}" --out "$OUT/ft_${SRC}_e2e" --overwrite --quiet
    timed ft_${SRC}_e2e_eval $AM eval --gt $GT --checkpoint "$OUT/ft_${SRC}_e2e/model.pt" \
        --max-videos "$VIDEOS" --out "$OUT/ft_${SRC}_e2e_eval" --overwrite
  fi
done

# 3. Test-time adaptation (amodal adapt), one video at a time, each from the shipped weights.
#    The two protocols run side by side (one core each); per-video seconds are in adaptation.json.
tta() {
  local MODE=$1 MASKS=() GV=()
  if [ "$MODE" = gv ]; then MASKS=(--visible-masks "$GT"); GV=(--given-visible); fi
  rm -rf "$OUT/tta_$MODE"; mkdir -p "$OUT/tta_$MODE"
  local t0=$EPOCHREALTIME
  for v in "$OUT"/test_videos/*.mp4; do
    OMP_NUM_THREADS=1 $AM adapt "$v" "${MASKS[@]}" --checkpoint "$CKPT" --steps "$TTA_STEPS" "${SET_ARGS[@]}" \
        --out "$OUT/tta_$MODE/$(basename "$v" .mp4)" --no-video --overwrite --quiet > /dev/null
  done
  echo -e "tta_$MODE\t$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}')" >> "$OUT/times.tsv"
  $PY "$HERE/adaptation_table.py" merge "$GT" "$OUT/tta_$MODE"
  $AM eval --gt $GT --pred "$OUT/tta_$MODE/predictions.json" "${GV[@]}" --max-videos "$VIDEOS" \
      --out "$OUT/tta_${MODE}_eval" --overwrite > /dev/null
}
PIDS=()
for MODE in $PROTOCOLS; do tta "$MODE" & PIDS+=($!); done
for P in "${PIDS[@]}"; do wait "$P"; done

# 4. The table.
$PY "$HERE/adaptation_table.py" table "$OUT" "$VIDEOS" "$TTA_STEPS" "$PROTOCOLS"
