# syntax=docker/dockerfile:1
# Two runtime targets:
#   docker build --target cpu -t scgmdvae:cpu .   Node 20 slim, tfjs wasm backend (API, CPU workers)
#   docker build --target gpu -t scgmdvae:gpu .   CUDA 11.2 + cuDNN 8 with @tensorflow/tfjs-node-gpu (the CUDA
#                                                  version that package supports); SCGMDVAE_BACKEND=webgpu is the
#                                                  alternative on drivers that offer Vulkan
# Both run as the unprivileged user scgmdvae (uid 10001), so they can share one data volume.

ARG NODE_IMAGE=node:20-bookworm-slim
ARG CUDA_IMAGE=nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04

# ---- build: compile TypeScript, keep production dependencies without the optional GPU ones
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=optional
COPY tsconfig.json tsconfig.build.json vite.config.ts ./
COPY src ./src
COPY schemas ./schemas
# `npm run build` also copies the h5wasm loader hook (plain .mjs) next to the compiled reader and bundles the
# web page (src/web) into dist/web, which the API serves at /.
# koffi's native binary is an optional package of its own, which --omit=optional leaves out: it is put back by name.
RUN npm run build \
 && npm prune --omit=dev --omit=optional \
 && npm install --no-save --omit=dev --omit=optional --ignore-scripts \
      "@koromix/koffi-linux-$(node -p process.arch)@$(node -p "require('./package-lock.json').packages['node_modules/koffi'].version")"

# ---- cpu: the API and CPU workers
FROM ${NODE_IMAGE} AS cpu
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    STORAGE_URL=file:///data \
    SCGMDVAE_BACKEND=wasm
# Plots draw their labels with a system font; the model's matrix products run on OpenBLAS (src/model/matmul.ts).
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-dejavu-core libopenblas0-pthread \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 scgmdvae \
 && useradd --system --uid 10001 --gid scgmdvae --home-dir /app scgmdvae \
 && mkdir -p /data && chown scgmdvae:scgmdvae /data
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/schemas ./schemas
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER scgmdvae
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/src/cli/main.js", "serve"]

# ---- gpu-base: CUDA runtime with the same Node 20 as the other stages
FROM ${NODE_IMAGE} AS node
FROM ${CUDA_IMAGE} AS gpu-base
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm

# ---- gpu-deps: production dependencies including @tensorflow/tfjs-node-gpu and webgpu (native add-ons)
FROM gpu-base AS gpu-deps
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev

# ---- gpu: GPU workers
FROM gpu-base AS gpu
# libvulkan1 and the graphics capability serve the webgpu backend; tfjs-node-gpu needs only compute.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libvulkan1 fonts-dejavu-core libopenblas0-pthread \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 scgmdvae \
 && useradd --system --uid 10001 --gid scgmdvae --home-dir /app scgmdvae \
 && mkdir -p /data && chown scgmdvae:scgmdvae /data
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    STORAGE_URL=file:///data \
    SCGMDVAE_BACKEND=tensorflow \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/schemas ./schemas
COPY --from=gpu-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER scgmdvae
VOLUME ["/data"]
# A worker serves no HTTP: healthy while its process runs; /readyz on the API reports whether workers are seen.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "process.kill(1, 0)"]
CMD ["node", "dist/src/cli/main.js", "worker"]
