#!/usr/bin/env bash
# AVATAR-mini v2 seed study (issue 11): every trained model x 3 training seeds, trained on the
# v2 training stream, scored on AVATAR-mini v2 (--dataset mini-v2) at the resolution it was
# trained at, TAVLO's runs probed for audio reliance; then the seed summary and the
# seeds x videos comparisons (baselines/seed_study_summary.py).
#
#   bash baselines/reproduce_mini_v2_study.sh                # the study (budget below)
#   STEPS=2 BATCH=2 SEEDS=0 MODELS="ezvsl tavlo_mean" SUBMIT=0 OUT=/tmp/smoke \
#     bash baselines/reproduce_mini_v2_study.sh              # smoke test
#
# Budget. CPU: 200 steps x batch 8, two runs at a time (JOBS=2, one torch thread each).
# CUDA (torch sees a GPU): 3000 steps x batch 64, one run at a time. STEPS / BATCH / JOBS
# override. Resolution: every model trains and predicts at 112 px (the baselines'
# recipe default, passed to the adapter with --option image_size=112; TAVLO's `small` config,
# read back from its checkpoint). Runs that exist are kept (delete OUT/<run> to redo one).
# Measured on 2 CPU cores: the 7 models x 3 seeds took 87 min wall, the long-T cell's 3 seeds
# (tavlo_max_nox_long: T = 20 frames 0.25 s apart, the whole clip) 28 min more (3 at a time).
# Entries: submissions/mini-v2-<model>-s<seed> (SUBMIT=1), the seed in name, slug, notes.
set -euo pipefail
OUT=${OUT:-runs/mini-v2-study}
SUB=${SUB:-submissions}
SEEDS=${SEEDS:-"0 1 2"}
MODELS=${MODELS:-"ssltie tavlo_mean tavlo_max tavlo_mean_nox tavlo_max_nox slavc ezvsl tavlo_max_nox_long"}
TRAIN_DATA=${TRAIN_DATA:-mini-v2}
SUBMIT=${SUBMIT:-1}
SIZE=112
DATE=${DATE:-$(date -u +%F)}
if python -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null
then DEVICE=cuda; STEPS=${STEPS:-3000}; BATCH=${BATCH:-64}; THREADS=0; WORKERS=4; JOBS=${JOBS:-1}
else DEVICE=cpu; STEPS=${STEPS:-200}; BATCH=${BATCH:-8}; THREADS=1; WORKERS=0; JOBS=${JOBS:-2}
fi
export OUT SUB TRAIN_DATA SUBMIT SIZE DATE DEVICE STEPS BATCH THREADS WORKERS

# model key -> train arguments
train_args() {
  case $1 in
    ezvsl|slavc|ssltie) echo "--model $1 --option image_size=$SIZE" ;;
    tavlo_mean) echo "--model tavlo --config small" ;;
    tavlo_max) echo "--model tavlo --config small --option negative_pool=max" ;;
    tavlo_mean_nox) echo "--model tavlo --config small --option cross_modal_attention=false" ;;
    tavlo_max_nox)
      echo "--model tavlo --config small --option negative_pool=max --option cross_modal_attention=false" ;;
    # T = 20 frames 0.25 s apart: the whole 5 s mini clip (at 4 fps), 2.5x the compute
    tavlo_*_long)
      local base; base=$(train_args "${1%_long}")
      echo "$base --option frames=20 --option frame_interval=0.25" ;;
    *) echo "unknown model key $1" >&2; return 2 ;;
  esac
}
display_name() {
  case $1 in
    ezvsl) echo "EZ-VSL" ;; slavc) echo "SLAVC" ;; ssltie) echo "SSL-TIE" ;;
    tavlo_mean) echo "TAVLO small (paper: mean negatives)" ;;
    tavlo_max) echo "TAVLO small, max negatives" ;;
    tavlo_mean_nox) echo "TAVLO small two-tower (ours), mean negatives" ;;
    tavlo_max_nox) echo "TAVLO small two-tower (ours), max negatives" ;;
    tavlo_*_long) echo "$(display_name "${1%_long}"), T=20 x 0.25 s" ;;
  esac
}

# One run: train, predict, evaluate, probe (TAVLO), submit. Called as `$0 --one KEY SEED`.
run_one() {
  local key=$1 seed=$2 run="$OUT/$1-s$2" predict_args
  if [ ! -f "$run/checkpoint.pth" ]; then
    # shellcheck disable=SC2046  # train_args is a word list on purpose
    avatar-bench train $(train_args "$key") --dataset "$TRAIN_DATA" --steps "$STEPS" \
      --batch-size "$BATCH" --seed "$seed" --device "$DEVICE" --threads "$THREADS" \
      --num-workers "$WORKERS" --output "$run" -q > "$run.train.log" 2>&1
  fi
  case $key in
    tavlo*) predict_args="--model tavlo" ;;
    *) predict_args="--model $key --option image_size=$SIZE" ;;
  esac
  if [ ! "$run.npz" -nt "$run/checkpoint.pth" ]; then
    # shellcheck disable=SC2086
    avatar-bench predict $predict_args --checkpoint "$run/checkpoint.pth" --dataset mini-v2 \
      --device "$DEVICE" --threads "$THREADS" --workers 0 -o "$run.npz" -q
  fi
  avatar-bench evaluate "$run.npz" --dataset mini-v2 --output "$run.json" \
    --per-frame "$run.csv" -q
  case $key in
    tavlo*) python benchmarks/tavlo_audio_reliance.py "$run/checkpoint.pth" --version 2 \
              > "$run.reliance.json" ;;
  esac
  if [ "$SUBMIT" = 1 ]; then
    avatar-bench submit "$run.npz" --dataset mini-v2 --name "$(display_name "$key"), seed $seed" \
      --slug "mini-v2-${key//_/-}-s$seed" --force --authors "avatar-bench maintainers" \
      --date "$DATE" --submissions-dir "$SUB" --training-data "AVATAR-mini v2 training stream" \
      --training-size "$((STEPS * BATCH))" --training-seed "$seed" -q \
      --notes "Training seed $seed; $STEPS steps x batch $BATCH on $DEVICE, random init; \
trained and scored at $SIZE px (baselines/reproduce_mini_v2_study.sh)."
  fi
  echo "done $key seed $seed"
}

if [ "${1:-}" = --one ]; then run_one "$2" "$3"; exit; fi

mkdir -p "$OUT"
echo "study: device=$DEVICE steps=$STEPS batch=$BATCH jobs=$JOBS seeds=[$SEEDS] data=$TRAIN_DATA -> $OUT"
for key in $MODELS; do train_args "$key" > /dev/null; done      # unknown keys fail up front
# Seed-major order (every model's seed 0 first), the slowest models first within a seed.
for seed in $SEEDS; do for key in $MODELS; do echo "$key $seed"; done; done |
  xargs -P "$JOBS" -L 1 bash "$0" --one
# shellcheck disable=SC2086
python baselines/seed_study_summary.py "$OUT" --models $MODELS
