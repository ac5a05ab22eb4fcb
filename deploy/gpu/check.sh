#!/usr/bin/env bash
# The gpu profile on a GPU host, in one command (Docker with the NVIDIA container toolkit, Python 3.11):
#   bash deploy/gpu/check.sh
# Exports the models (with the gpu profile's configs and DALI pipelines), builds and starts the triton-gpu image,
# checks every network and the DALI preprocessing against their references and runs perf_analyzer on each
# (benchmarks/gpu_check.py), and writes benchmarks/results/gpu.md. Exits non-zero if anything is out of tolerance.
set -euo pipefail
cd "$(dirname "$0")/../.."
port="${VIDSAFE_GPU_CHECK_PORT:-18001}"
name="vidsafe-gpu-check-$$"

bash deploy/bootstrap.sh .venv
.venv/bin/vidsafe export --gpu
docker build -f deploy/Dockerfile --target triton-gpu -t vidsafe-triton-gpu:check .
docker run -d --rm --name "$name" --gpus all --shm-size 2g -p "127.0.0.1:$port:8001" \
    -p "127.0.0.1:$((port + 1)):8000" vidsafe-triton-gpu:check > /dev/null
trap 'docker logs "$name" > benchmarks/results/gpu-triton.log 2>&1 || true; docker stop "$name" > /dev/null || true' EXIT

echo "waiting for Triton (TensorRT builds its engines on the first start) ..."
for _ in $(seq 1 180); do
    if curl -fsS "http://127.0.0.1:$((port + 1))/v2/health/ready" > /dev/null 2>&1; then break; fi
    sleep 5
done
curl -fsS "http://127.0.0.1:$((port + 1))/v2/health/ready" > /dev/null
.venv/bin/python -m benchmarks.gpu_check --triton-url "127.0.0.1:$port"
