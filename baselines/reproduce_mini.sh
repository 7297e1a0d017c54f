#!/usr/bin/env bash
# Reproduce the AVATAR-mini rows of the README and submissions/: one training budget for every
# model (200 steps x 8 clips of the AVATAR-mini training stream, seed 0, CPU, 1 thread), then
# predict, evaluate and submit. About 1 h 30 min on 2 CPU cores. OUT holds checkpoints and
# predictions (not committed); STAGE=predict skips training when OUT already has checkpoints.
set -euo pipefail
OUT=${OUT:-runs/mini}
STAGE=${STAGE:-all}
SUB=${SUB:-submissions}
DATE=${DATE:-$(date -u +%F)}
TRAIN=(--steps 200 --batch-size 8 --seed 0 --device cpu --threads 1 --num-workers 0 --dataset mini)
mkdir -p "$OUT"

if [ "$STAGE" = all ]; then
  avatar-bench train --model ezvsl  "${TRAIN[@]}" --output "$OUT/ezvsl"
  avatar-bench train --model slavc  "${TRAIN[@]}" --output "$OUT/slavc"
  avatar-bench train --model ssltie "${TRAIN[@]}" --output "$OUT/ssltie"
  avatar-bench train --model tavlo --config small "${TRAIN[@]}" --output "$OUT/tavlo_mean"
  avatar-bench train --model tavlo --config small --option negative_pool=max "${TRAIN[@]}" \
    --output "$OUT/tavlo_max"
  avatar-bench train --model tavlo --config small --option negative_pool=max \
    --option cross_modal_attention=false "${TRAIN[@]}" --output "$OUT/tavlo_nox"
fi

submit() {  # slug name preds training-note [extra submit args...]
  local slug=$1 name=$2 preds=$3 note=$4; shift 4
  avatar-bench submit "$preds" --dataset mini --name "$name" --slug "$slug" --force \
    --authors "avatar-bench maintainers" --date "$DATE" --submissions-dir "$SUB" \
    --notes "$note" "$@"
}
TRAINED=(--training-data "AVATAR-mini training stream" --training-size 1600)
BUDGET="Trained here: 200 steps x 8 clips, seed 0, CPU, random init (no ImageNet weights)."
predict() {  # model checkpoint-dir output: skipped when the output is newer than the checkpoint
  local model=$1 ckpt=$2/checkpoint.pth preds=$3
  [ "$preds" -nt "$ckpt" ] && return 0
  avatar-bench predict --model "$model" --checkpoint "$ckpt" --dataset mini -o "$preds"
}
for m in ezvsl slavc ssltie; do predict "$m" "$OUT/$m" "$OUT/$m.npz"; done
predict tavlo "$OUT/tavlo_mean" "$OUT/tavlo_mean.npz"
predict tavlo "$OUT/tavlo_max" "$OUT/tavlo_max.npz"
predict tavlo "$OUT/tavlo_nox" "$OUT/tavlo_nox.npz"
submit mini-ezvsl "EZ-VSL (200 steps)" "$OUT/ezvsl.npz" "$BUDGET" "${TRAINED[@]}" --audio-window 3 \
  --code-url https://github.com/stoneMo/EZ-VSL
submit mini-slavc "SLAVC (200 steps)" "$OUT/slavc.npz" "$BUDGET" "${TRAINED[@]}" --audio-window 3 \
  --code-url https://github.com/stoneMo/SLAVC
submit mini-ssltie "SSL-TIE (200 steps)" "$OUT/ssltie.npz" "$BUDGET" "${TRAINED[@]}" --audio-window 10 \
  --code-url https://github.com/jinxiang-liu/SSL-TIE
submit mini-tavlo "TAVLO paper-loss (200 steps)" "$OUT/tavlo_mean.npz" \
  "$BUDGET TAVLO small config; negatives pooled by mean, as in the paper." --audio-window 0.8 "${TRAINED[@]}"
submit mini-tavlo-max "TAVLO max-neg (200 steps)" "$OUT/tavlo_max.npz" \
  "$BUDGET TAVLO small config; negatives pooled by max, as in EZ-VSL." --audio-window 0.8 "${TRAINED[@]}"
submit mini-tavlo-nox "TAVLO two-tower variant (ours) (200 steps)" \
  "$OUT/tavlo_nox.npz" "$BUDGET TAVLO small config; negatives pooled by max; spatial attention within each modality \
(cross_modal_attention=false), which removes the own-frame shortcut (docs/tavlo.md)." \
  --audio-window 0.8 "${TRAINED[@]}"

# Reference predictors: no training (floors, the GT-shaped oracle, the hand-made motion cues).
for m in center-prior random oracle motion motion-sync; do
  avatar-bench predict --model "$m" --dataset mini -o "$OUT/$m.npz"
  submit "mini-$m" "$m (reference)" "$OUT/$m.npz" "Reference predictor, no training."
done
avatar-bench leaderboard build "$SUB" -o leaderboard/index.html
