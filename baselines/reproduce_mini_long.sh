#!/usr/bin/env bash
# The longer AVATAR-mini budget of the README's second results table (docs/tavlo.md, "Longer
# budget"). Starts from the 200-step runs of reproduce_mini.sh in OUT and resumes each in
# 200-step stages, keeping every stage's checkpoint as ckpt_<step>.pth: all four trained
# models to 800 steps, EZ-VSL and the two-tower TAVLO variant to 1600. A resumed stage draws its own
# seeded stretch of the training stream (seed, step), so the same stages give the same weights
# on CPU. Then every checkpoint is predicted and evaluated (results JSON + per-frame CSV) and
# TAVLO is compared with EZ-VSL by a paired bootstrap. About 3.5 h on 2 CPU cores (the stage
# times measured here, summed).
set -euo pipefail
OUT=${OUT:-runs/mini}
COMMON=(--batch-size 8 --seed 0 --device cpu --threads 1 --num-workers 0 --dataset mini --resume)
NOX=(--config small --option negative_pool=max --option cross_modal_attention=false)

stages() {  # run model last-step [train args...]: 200-step stages from 400 to last-step
  local run=$1 model=$2 last=$3; shift 3
  [ -f "$OUT/$run/ckpt_200.pth" ] || cp "$OUT/$run/checkpoint.pth" "$OUT/$run/ckpt_200.pth"
  for ((step = 400; step <= last; step += 200)); do
    [ -f "$OUT/$run/ckpt_$step.pth" ] && continue
    avatar-bench -q train --model "$model" "$@" --steps "$step" "${COMMON[@]}" --output "$OUT/$run"
    cp "$OUT/$run/checkpoint.pth" "$OUT/$run/ckpt_$step.pth"
  done
}
stages ezvsl ezvsl 1600
stages tavlo_nox tavlo 1600 "${NOX[@]}"
stages slavc slavc 800
stages ssltie ssltie 800

score() {  # run model step
  local base=$OUT/$1_$3
  [ -f "$base.csv" ] && return 0
  avatar-bench -q predict --model "$2" --checkpoint "$OUT/$1/ckpt_$3.pth" --dataset mini -o "$base.npz"
  avatar-bench -q evaluate "$base.npz" --dataset mini --output "$base.json" --per-frame "$base.csv"
}
for step in 200 400 600 800 1000 1200 1400 1600; do
  score ezvsl ezvsl $step
  score tavlo_nox tavlo $step
done
score slavc slavc 800
score ssltie ssltie 800
for step in 800 1600; do
  avatar-bench compare "$OUT/ezvsl_$step.csv" "$OUT/tavlo_nox_$step.csv" \
    --names "EZ-VSL $step,TAVLO no-xattn $step" -o "$OUT/compare_$step.json"
done
python benchmarks/tavlo_audio_reliance.py "$OUT"/tavlo_nox/ckpt_{200,800,1600}.pth

# Leaderboard entries (reproduced, AVATAR-mini) for the longer budgets, then the page.
SUB=${SUB:-submissions}
DATE=${DATE:-$(date -u +%F)}
submit() {  # slug name run step audio-window [extra submit args...]
  local slug=$1 name=$2 run=$3 step=$4 window=$5; shift 5
  avatar-bench -q submit "$OUT/${run}_$step.npz" --dataset mini --name "$name" --slug "$slug" \
    --force --authors "avatar-bench maintainers" --date "$DATE" --submissions-dir "$SUB" \
    --training-data "AVATAR-mini training stream" --training-size $((step * 8)) \
    --audio-window "$window" --notes "Trained here: $step steps x 8 clips (200-step runs resumed \
in 200-step stages, baselines/reproduce_mini_long.sh), seed 0, CPU, random init. $*"
}
NOXNOTE="TAVLO small config; negatives pooled by max; no cross-modal spatial attention (docs/tavlo.md)."
submit mini-ezvsl-800 "EZ-VSL (800 steps)" ezvsl 800 3
submit mini-slavc-800 "SLAVC (800 steps)" slavc 800 3
submit mini-ssltie-800 "SSL-TIE (800 steps)" ssltie 800 10
submit mini-tavlo-nox-800 "TAVLO two-tower variant (ours) (800 steps)" tavlo_nox 800 0.8 "$NOXNOTE"
submit mini-ezvsl-1600 "EZ-VSL (1600 steps)" ezvsl 1600 3
submit mini-tavlo-nox-1600 "TAVLO two-tower variant (ours) (1600 steps)" tavlo_nox 1600 0.8 "$NOXNOTE"
avatar-bench leaderboard build "$SUB" -o leaderboard/index.html
