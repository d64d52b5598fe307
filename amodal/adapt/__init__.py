"""Learning from the user's own, unlabeled videos (see docs/ADAPTATION.md).

- `amodal.adapt.pseudo_labels`: visible masks + tracks for raw videos (from the visible-mask
  network and tracker, or from given masks), written as a native JSON dataset without amodal
  fields, with the per-object motions the clip loader needs.
- `amodal.adapt.adapter`: the bounded self-supervised adaptation loop with a held-back
  validation loss, early stopping and best-weight restoring (`adapt_model`, `AdaptReport`).
- `amodal.adapt.finetune`: `amodal train --data MY_VIDEOS` (fine-tuning a checkpoint on a folder
  of videos).
- `amodal.adapt.settings`: the fine-tuning recipe (`configs/finetune.yaml`) and config merging.

Nothing is imported here (no import-time side effects); import the submodules.
"""
