#!/usr/bin/env bash
# The GPU checks of docs/benchmarks.md ("On a GPU"), on a machine with CUDA torch and JAX and no
# network (DEVELOPERS.md): torch on cuda judged strictly and under TF32, in float16/bfloat16,
# the CPU run of the same machine and its diff against cuda, and a JAX run (time-boxed).
# Usage: bash benchmarks/gpu_run.sh OUT_DIR   (from the repository root)
set -uo pipefail
out=${1:?usage: gpu_run.sh OUT_DIR}
mkdir -p "$out"
python3 -m pip install -q --no-deps --no-build-isolation --target ../site . >"$out/install.log" 2>&1 || exit 1
cd .. && export PYTHONPATH=$PWD/site XLA_PYTHON_CLIENT_PREALLOCATE=false
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >"$out/gpu.txt" 2>&1
python3 -c "import torch, jax; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'cudnn', torch.backends.cudnn.version()); print('jax', jax.__version__, jax.devices())" >>"$out/gpu.txt" 2>&1
run() {  # run NAME SECONDS ARGS...: one conform run, its wall time and exit status in NAME.txt
  local name=$1 limit=$2; shift 2
  local start=$SECONDS
  timeout -s INT "$limit" python3 -m dlterms conform -q --json "$out/$name.json" "$@" >"$out/$name.txt" 2>&1
  echo "exit $? wall $((SECONDS - start)) s" >>"$out/$name.txt"
}
run torch-cuda 75 --backend torch --device cuda --jobs 8
run torch-cuda-tf32 75 --backend torch --device cuda --jobs 8 --math-mode tf32
run torch-cuda-half 75 --backend torch --device cuda --jobs 8 --dtype float16,bfloat16
run torch-cpu 45 --backend torch --device cpu --jobs 8
python3 -m dlterms report diff "$out/torch-cpu.json" "$out/torch-cuda.json" --json "$out/diff-cpu-cuda.json" >"$out/diff-cpu-cuda.txt" 2>&1
run jax-cuda 60 --backend jax --device cuda --jobs 4
