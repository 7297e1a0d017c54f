#!/usr/bin/env bash
# AVATAR-mini v2 seed study (issue 11): every trained model x 3 training seeds, trained on the
# v2 training stream and scored on AVATAR-mini v2 (--dataset mini-v2), each model evaluated at
# the resolution it was trained at; mean and spread over seeds written beside the per-run
# video-bootstrap intervals. NOT RUN YET at its real budget: only smoke-tested with tiny step
# counts (STEPS=2 BATCH=2, 2 seeds, ezvsl + tavlo_max_nox, TRAIN_DATA=mini, SUBMIT=0: 4 min 44 s
# on 2 busy cores), so no result of it exists and the CPU budget's wall time is not measured.
#
#   bash baselines/reproduce_mini_v2_study.sh                # the study (budget below)
#   STEPS=2 BATCH=2 SEEDS=0 MODELS="ezvsl tavlo_mean" SUBMIT=0 OUT=/tmp/smoke \
#     bash baselines/reproduce_mini_v2_study.sh              # smoke test
#
# Budget: on CPU (2 cores) 200 steps x batch 8; when torch sees CUDA, 3000 steps x batch 64.
# STEPS / BATCH override either. Resolution: TAVLO trains and predicts at its config's
# image_size (the adapter reads it from the checkpoint); the baselines' adapters score at
# 224 px, so the baselines are trained at 224 px here (--option image_size=224) instead of the
# recipes' default 112 px. Training on the v2 stream needs `avatar-bench train --dataset
# mini-v2`; TRAIN_DATA=mini falls back to the v1 stream (smoke tests only).
# Entries: submissions/mini-v2-<model>-s<seed> (SUBMIT=1), the seed in name, slug and notes.
set -euo pipefail
OUT=${OUT:-runs/mini-v2-study}
SUB=${SUB:-submissions}
SEEDS=${SEEDS:-"0 1 2"}
MODELS=${MODELS:-"ezvsl slavc ssltie tavlo_mean tavlo_max tavlo_mean_nox tavlo_max_nox"}
TRAIN_DATA=${TRAIN_DATA:-mini-v2}
SUBMIT=${SUBMIT:-1}
DATE=${DATE:-$(date -u +%F)}
if python -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null
then DEVICE=cuda; STEPS=${STEPS:-3000}; BATCH=${BATCH:-64}; THREADS=0; WORKERS=4
else DEVICE=cpu; STEPS=${STEPS:-200}; BATCH=${BATCH:-8}; THREADS=1; WORKERS=0
fi
mkdir -p "$OUT"
echo "study: device=$DEVICE steps=$STEPS batch=$BATCH seeds=[$SEEDS] data=$TRAIN_DATA -> $OUT"

# model key -> train arguments, predict model, audio window (s), display name
train_args() {
  case $1 in
    ezvsl|slavc|ssltie) echo "--model $1 --option image_size=224" ;;
    tavlo_mean) echo "--model tavlo --config small" ;;
    tavlo_max) echo "--model tavlo --config small --option negative_pool=max" ;;
    tavlo_mean_nox) echo "--model tavlo --config small --option cross_modal_attention=false" ;;
    tavlo_max_nox)
      echo "--model tavlo --config small --option negative_pool=max --option cross_modal_attention=false" ;;
    *) echo "unknown model key $1" >&2; exit 2 ;;
  esac
}
predict_model() { case $1 in tavlo*) echo tavlo ;; *) echo "$1" ;; esac; }
display_name() {
  case $1 in
    ezvsl) echo "EZ-VSL, 224 px" ;; slavc) echo "SLAVC, 224 px" ;; ssltie) echo "SSL-TIE, 224 px" ;;
    tavlo_mean) echo "TAVLO small (paper: mean negatives)" ;;
    tavlo_max) echo "TAVLO small, max negatives" ;;
    tavlo_mean_nox) echo "TAVLO small two-tower (ours), mean negatives" ;;
    tavlo_max_nox) echo "TAVLO small two-tower (ours), max negatives" ;;
  esac
}

for key in $MODELS; do
  for seed in $SEEDS; do
    run="$OUT/$key-s$seed"
    if [ ! -f "$run/checkpoint.pth" ]; then
      # shellcheck disable=SC2046  # train_args is a word list on purpose
      avatar-bench train $(train_args "$key") --dataset "$TRAIN_DATA" --steps "$STEPS" \
        --batch-size "$BATCH" --seed "$seed" --device "$DEVICE" --threads "$THREADS" \
        --num-workers "$WORKERS" --output "$run" -q
    fi
    [ "$run.npz" -nt "$run/checkpoint.pth" ] || \
      avatar-bench predict --model "$(predict_model "$key")" --checkpoint "$run/checkpoint.pth" \
        --dataset mini-v2 --device "$DEVICE" -o "$run.npz" -q
    avatar-bench evaluate "$run.npz" --dataset mini-v2 --output "$run.json" \
      --per-frame "$run.csv" -q
    if [ "$SUBMIT" = 1 ]; then
      avatar-bench submit "$run.npz" --dataset mini-v2 --name "$(display_name "$key"), seed $seed" \
        --slug "mini-v2-${key//_/-}-s$seed" --force --authors "avatar-bench maintainers" \
        --date "$DATE" --submissions-dir "$SUB" --training-data "AVATAR-mini v2 training stream" \
        --training-size "$((STEPS * BATCH))" -q \
        --notes "Training seed $seed; $STEPS steps x batch $BATCH on $DEVICE, random init; \
trained and evaluated at the same resolution (baselines/reproduce_mini_v2_study.sh)."
    fi
  done
done

# Mean and spread over seeds, per model and subset (CIoU %), beside each run's interval.
python - "$OUT" $MODELS <<'EOF'
import json, statistics, sys
from pathlib import Path

out, models = Path(sys.argv[1]), sys.argv[2:]
subsets = ["single_sound", "mixed_sound", "multi_entity", "total", "cross_event"]
lines = ["model\tsubset\tseeds\tmean\tsd\tmin\tmax\tper-seed [video-bootstrap 95% CI]"]
for key in models:
    runs = sorted(out.glob(f"{key}-s*.json"))
    docs = [(p.stem.rsplit("-s", 1)[1], json.loads(p.read_text())) for p in runs]
    for s in subsets:
        vals = [d["metrics"][s]["ciou"] for _, d in docs]
        if not vals:
            continue
        sd = statistics.stdev(vals) if len(vals) > 1 else float("nan")
        per = "; ".join(f"s{seed} {d['metrics'][s]['ciou']:.2f} "
                        f"[{d['metrics'][s]['ci']['ciou'][0]:.2f}, "
                        f"{d['metrics'][s]['ci']['ciou'][1]:.2f}]" for seed, d in docs)
        lines.append(f"{key}\t{s}\t{len(vals)}\t{statistics.mean(vals):.2f}\t{sd:.2f}\t"
                     f"{min(vals):.2f}\t{max(vals):.2f}\t{per}")
(out / "seed_summary.tsv").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
