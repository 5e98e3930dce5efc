#!/usr/bin/env bash
# The prepared GPU check (issue 14): training throughput (cells/s, one epoch, default model and batch
# size) at 100,000 and 1,000,000 pbmc3k-sampled cells, and CellBench's quality (ARI with the cell
# lines), on the webgpu backend (Dawn on the NVIDIA Vulkan driver) against wasm on the same machine.
# The device machine reaches no registry, so this runs in two steps:
#
#   bash bench/gpu.sh pack      # here (node_modules installed): writes bench/out/gpu/ (git-ignored, ~40 MiB)
#   bash bench/gpu.sh run       # there, in one call: device run with carry ["bench/out/gpu"], timeout_s 540;
#                               # writes $OUT/gpu-webgpu.json, $OUT/gpu-wasm.json, $OUT/gpu.log
#
# tfjs-node-gpu is not tried: its install downloads libtensorflow (CUDA build, ~400 MB) from the
# network, which the device cannot reach and the 64 MiB carry cannot hold.
set -euo pipefail
cd "$(dirname "$0")/.."
PACK=bench/out/gpu

pack() {
  rm -rf "$PACK"
  mkdir -p "$PACK/node_modules/webgpu/dist" "$PACK/gl"
  npx tsx bench/gpu-prepare.ts "$PACK/inputs"
  # ESM bundle; tfjs-backend-wasm's CommonJS looks for its .wasm files beside __dirname, i.e. beside the bundle.
  npx esbuild bench/gpu.ts --bundle --platform=node --format=esm --target=node20 --log-level=warning \
    --outfile="$PACK/gpu.mjs" --external:webgpu --external:@tensorflow/tfjs-node --external:@tensorflow/tfjs-node-gpu \
    --banner:js="import { createRequire as __cr } from 'node:module'; import { fileURLToPath as __fu } from 'node:url'; import { dirname as __dn } from 'node:path'; const require = __cr(import.meta.url); const __filename = __fu(import.meta.url); const __dirname = __dn(__filename);"
  cp node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm "$PACK/"
  cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$PACK/node_modules/webgpu/"
  mkdir -p "$PACK/node_modules/webgpu/dist/linux-x64"
  xz -T0 -6 -c node_modules/webgpu/dist/linux-x64/dawn.node > "$PACK/dawn.node.xz"
  # The device image has no Node; this machine's x86-64 build travels compressed.
  xz -T0 -6 -c "$(command -v node)" > "$PACK/node.xz"
  # Vulkan and EGL loaders, in case the image lacks them (docs: /work/.library/device/README.md).
  local o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  mkdir -p /tmp/amd64/partial
  # shellcheck disable=SC2086
  (apt-get $o update -qq && cd "$PACK/gl" && apt-get $o download -qq libvulkan1) || echo "gpu.sh: no libvulkan1 .deb fetched; the device's own loader must do"
  # What travels is the tracked tree plus the pack, 64 MiB in all.
  local bytes; bytes=$(( $(du -sb "$PACK" | cut -f1) + $(git ls-files -z | du --files0-from=- -cb | tail -1 | cut -f1) ))
  echo "gpu.sh: $PACK plus the tracked files: $(( bytes / 1024 / 1024 )) MiB"
  if (( bytes > 63 * 1024 * 1024 )); then echo "gpu.sh: over the 64 MiB a device call carries" >&2; exit 1; fi
}

run() {
  local out=${OUT:-bench/out} node
  if command -v node >/dev/null && node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'; then node=node
  else xz -dc "$PACK/node.xz" > /tmp/node && chmod +x /tmp/node && node=/tmp/node; fi
  xz -dc "$PACK/dawn.node.xz" > "$PACK/node_modules/webgpu/dist/linux-x64/dawn.node"
  if ! ldconfig -p | grep -q libvulkan.so.1; then for f in "$PACK"/gl/*.deb; do [ -e "$f" ] && dpkg -x "$f" /; done; ldconfig; fi
  [ -e /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] && export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  {
    nvidia-smi -L || true
    "$node" --version
    # webgpu first: it is what the check is for; each backend gets its own process and time box.
    timeout 330 "$node" "$PACK/gpu.mjs" --inputs="$PACK/inputs" --backend=webgpu --sizes=100000,1000000 --budget-s=300 --out="$out/gpu-webgpu.json" || echo "gpu.sh: webgpu run ended with status $?"
    timeout 170 "$node" "$PACK/gpu.mjs" --inputs="$PACK/inputs" --backend=wasm --sizes=100000 --budget-s=150 --out="$out/gpu-wasm.json" || echo "gpu.sh: wasm run ended with status $?"
  } 2>&1 | tee "$out/gpu.log"
}

case "${1:-}" in
  pack) pack ;;
  run) run ;;
  *) echo "usage: bash bench/gpu.sh pack|run" >&2; exit 2 ;;
esac
