#!/usr/bin/env bash
# The Fashion-MNIST study's accelerator runs in one call (issue #18): the `full` configs of
# resnet18 (full width, 60 epochs) and capsnet (the row's recipe), each one seed, each under its
# own time limit, then the time to 0.93 test accuracy of the 2-conv net (#22's GPU line). The
# run directories' metrics.jsonl and summary.json land in $OUT; a summary line per run last.
#   OUT=/tmp/fashion-gpu NNZOO_FASHION_MNIST_DIR=shared/fashion-mnist bash experiments/fashion/gpu.sh
# The device machine cannot reach Debian: copy the four IDX files from
# /usr/share/datasets/fashion-mnist into a carried folder and name it in NNZOO_FASHION_MNIST_DIR.
set -u
out=${OUT:-/tmp/nnzoo-fashion-gpu}
py=${PYTHON:-python3}
mkdir -p "$out"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"

train() {  # seconds, name, config[:arg]
  echo "== $2: python -m train --config $3" | tee -a "$out/gpu.log"
  timeout "$1" $py -m train --config "$3" --workdir "$out/$2" --config.plots=False \
    >> "$out/gpu.log" 2>&1 || echo "FAILED or cut (exit $?): $2" | tee -a "$out/gpu.log"
}

train 300 resnet18_full experiments/fashion/resnet18.py:full
train 240 capsnet_full experiments/fashion/capsnet.py:full
timeout 200 $py -m train.bench --time-to 0.93 --config experiments/fashion/cnn2.py --max-epochs 20 \
  --seeds 0,1,2,3,4 > "$out/time_to.jsonl" 2>> "$out/gpu.log" || echo "time-to FAILED or cut" | tee -a "$out/gpu.log"

for run in resnet18_full capsnet_full; do
  $py - "$out/$run" <<'PY'
import json, os, sys
rows = [json.loads(l) for l in open(os.path.join(sys.argv[1], 'metrics.jsonl'))]
evals = [r for r in rows if r['split'] == 'eval']
last = evals[-1] if evals else {}
print(os.path.basename(sys.argv[1]), 'steps', rows[-1]['step'] if rows else 0,
      'last eval accuracy', last.get('accuracy'), 'at step', last.get('step'))
PY
done
