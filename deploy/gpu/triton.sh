#!/usr/bin/env bash
# NGC's Triton serving the gpu model profile (the triton-gpu image's command; the gpu overlay and the SkyPilot task
# run it too), its admin APIs closed: loading, unloading and listing models, their configs, tracing and logging
# need the key of TRITON_ADMIN_KEY in the vidsafe-triton-admin header (unset: a random key nobody holds; no part
# of vidsafe calls them). The list is vidsafe/triton.py's RESTRICTED_APIS. Other arguments are passed on.
set -euo pipefail
key="${TRITON_ADMIN_KEY:-$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')}"
restricted="model-repository,model-config,trace,logging:vidsafe-triton-admin=${key}"
exec tritonserver --model-repository=/models --model-config-name=gpu --exit-on-error=false \
    --http-restricted-api="${restricted}" --grpc-restricted-protocol="${restricted}" "$@"
