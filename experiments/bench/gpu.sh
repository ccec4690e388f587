#!/usr/bin/env bash
# The accelerator checks in one call: the GPU-only lever test, the matmul peaks, the
# LM at a size that fills the chip in bf16 (model-FLOPs utilization, three attention kernels, two
# batch sizes), and the five CPU workloads unchanged and at 10 steps per call. One JSON line per
# run in $OUT/gpu.jsonl (add them to the README table with
# `python -m experiments.record_bench --from gpu.jsonl`), errors in $OUT/gpu.log, a summary last.
#   NNZOO_COMMIT=$(git rev-parse --short=10 HEAD) OUT=/tmp/gpu bash experiments/bench/gpu.sh
# (PYTHON=... picks the interpreter; NNZOO_COMMIT names the commit of a clean tree copied there).
set -u
out=${OUT:-/tmp/nnzoo-gpu}
py=${PYTHON:-python3}
mkdir -p "$out"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,clocks.sm,clocks.max.sm,driver_version --format=csv \
  | tee "$out/gpu.txt"
$py -c 'import jax, flax, optax; print("jax", jax.__version__, "flax", flax.__version__,
  "optax", optax.__version__, jax.devices())' 2>&1 | tee -a "$out/gpu.txt"

run() {  # seconds, then train.bench arguments
  local limit=$1; shift
  echo "== train.bench $*" | tee -a "$out/gpu.log"
  timeout "$limit" $py -m train.bench "$@" >> "$out/gpu.jsonl" 2>> "$out/gpu.log" \
    || echo "FAILED (exit $?): train.bench $*" | tee -a "$out/gpu.log"
}

# The GPU-only lever test (cuDNN attention == explicit attention), then the measurements.
timeout 300 $py -m pytest -q -p no:cacheprovider tests/test_transformer.py -k "cudnn or bfloat16" \
  2>&1 | tail -3 | tee -a "$out/gpu.txt"
run 120 --workload peak
run 240 --workload transformer_large --steps 20
run 240 --workload transformer_large --steps 20 --config.model.attention=explicit
run 240 --workload transformer_large --steps 20 --config.model.attention=xla
run 240 --workload transformer_large --steps 20 --config.data.batch_size=16
for w in mlp cnn lstm transformer capsnet; do
  run 120 --workload "$w" --steps 50
  run 120 --workload "$w" --steps 200 --steps-per-call 10
done

$py - "$out/gpu.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
  r = json.loads(line)
  if r['workload'] == 'peak':
    print(f"peak: f32 {r['peak_gflops'] / 1e3:.1f} TFLOP/s, bf16 {r.get('peak_bf16_gflops', 0) / 1e3:.1f} TFLOP/s")
    continue
  mfu = f" mfu {100 * r['mfu']:.1f}%" if 'mfu' in r else ''
  levers = ' '.join(r['overrides'] + [f"K={r.get('steps_per_call')}"] * ('steps_per_call' in r))
  print(f"{r['workload']:18s} {levers:40s} {r['median_step_s'] * 1e3:9.3f} ms "
        f"{r['gflops'] / 1e3:8.1f} TFLOP/s{mfu} compile {r['compile_s']:.1f} s "
        f"loss {r['loss_after_warmup']:.3f} -> {r['loss_last']:.3f}")
PY
