#!/usr/bin/env bash
# Training throughput of resc (Autodiff<Flex>, `cargo bench --bench training`) against
# PyTorch eager (benches/reference/pytorch_training.py), interleaved model by model in one
# run on the same number of threads (RAYON_NUM_THREADS=N for resc, torch.set_num_threads(N)
# for PyTorch): ResNet-20 (b128, 3x32x32), WRN-16-4 (b128, 3x32x32), ResNet-50 (b16,
# 3x224x224). Prints images/s of both and the ratio resc/PyTorch per model, and whether
# the CPU has AVX-512 (from /proc/cpuinfo's flags).
#
#   benches/training_vs_pytorch.sh [STEPS] [THREADS]
#
# STEPS (default 3) timed steps per model after one untimed warm-up step; ResNet-50 runs
# max(1, STEPS/3) of them, as it is ~40x slower per step. THREADS defaults to nproc.
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-3}
threads=${2:-$(nproc)}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
if grep -qw avx512f /proc/cpuinfo 2>/dev/null; then avx512=yes; else avx512=no; fi
echo "threads: $threads; AVX-512: $avx512; steps: $steps"
cargo bench --bench training --no-run >/dev/null 2>&1
bin=$(cargo bench --bench training --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m["target"]["name"]=="training" and m.get("executable"): print(m["executable"])')
printf '%-10s %12s %12s %8s\n' model resc_img/s torch_img/s ratio
run() { # NAME FILE BATCH SIZE STEPS [--set k=v ...]
    local name=$1 file=$2 batch=$3 size=$4 n=$5
    shift 5
    local r p
    r=$(RAYON_NUM_THREADS=$threads "$bin" "$file" "$batch" "$size" "$n" "$@" | awk '{print $3}')
    p=$(python3 benches/reference/pytorch_training.py "$name" "$batch" "$size" "$n" "$threads" | awk '{print $3}')
    printf '%-10s %12s %12s %8s\n' "$name" "$r" "$p" "$(python3 -c "print(f'{$r/$p:.2f}x')")"
}
run resnet20 models/resnet20.resnet 128 32 "$steps"
run wrn-16-4 models/wrn.resnet 128 32 "$steps" --set depth=16 --set k=4
run resnet50 models/resnet50.resnet 16 224 $(( steps / 3 > 0 ? steps / 3 : 1 ))
