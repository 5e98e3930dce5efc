"""The same-shaped c*GMdVAE in PyTorch, for the training-throughput comparison (bench/throughput.ts).

Same networks as src/model/module.ts at the product's defaults without conditions: Qwz (g -> 256 -> 256 ->
2(nz + nw)), Px (nz -> 256 -> 256 -> g, mse), Pz (nw -> 128 -> 2 K nz), Qy and Qd (nz -> 128 -> K), each
hidden layer Linear -> Dropout(0.1) -> BatchNorm -> LeakyReLU(0.01), the same soft clips, the five -ELBO terms
with y enumerated (Dirichlet KL with lgamma/digamma), AdamW (lr 1e-3, weight decay 1e-4). The data are
synthetic log-normal-like values, 10 % nonzero, as bench/model-speed.ts makes them; only the shapes matter here.

Usage: /usr/bin/python3 bench/torch_reference.py [--cells 10000] [--genes 2000] [--batch-size 256] [--threads 2]
Prints one JSON line: seconds for one epoch (after a warm-up of 5 steps) and cells per second.
"""
import argparse
import json
import math
import time

import torch
import torch.nn.functional as F
from torch import nn

parser = argparse.ArgumentParser()
parser.add_argument("--cells", type=int, default=10_000)
parser.add_argument("--genes", type=int, default=2_000)
parser.add_argument("--batch-size", type=int, default=256)
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--clusters", type=int, default=10)
parser.add_argument("--latent-dim", type=int, default=16)
parser.add_argument("--w-dim", type=int, default=8)
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(args.seed)

K, NZ, NW, G = args.clusters, args.latent_dim, args.w_dim, args.genes
HIDDEN, LATENT_HIDDEN = [256, 256], [128]


def soft_clip(x, lo, hi):
    return lo + F.softplus(x - lo) - F.softplus(x - hi)


def mlp(n_in, hidden, n_out):
    layers, width = [], n_in
    for h in hidden:
        layers += [nn.Linear(width, h), nn.Dropout(0.1), nn.BatchNorm1d(h), nn.LeakyReLU(0.01)]
        width = h
    return nn.Sequential(*layers, nn.Linear(width, n_out))


def gaussian_kl(mu1, lv1, mu2, lv2):
    return 0.5 * (lv2 - lv1 + torch.exp(lv1 - lv2) + (mu1 - mu2) ** 2 * torch.exp(-lv2) - 1).sum(-1)


class Cgmvae(nn.Module):
    def __init__(self):
        super().__init__()
        self.qwz = mlp(G, HIDDEN, 2 * (NZ + NW))
        self.px = mlp(NZ, HIDDEN[::-1], G)
        self.pz = mlp(NW, LATENT_HIDDEN, 2 * K * NZ)
        self.qy = mlp(NZ, LATENT_HIDDEN, K)
        self.qd = mlp(NZ, LATENT_HIDDEN, K)

    def forward(self, x, alpha=1.0, eps=1e-3):
        mu_z, lv_z, mu_w, lv_w = torch.split(self.qwz(x), [NZ, NZ, NW, NW], 1)
        mu_z, mu_w = soft_clip(mu_z, -5, 5), soft_clip(mu_w, -5, 5)
        lv_z, lv_w = soft_clip(lv_z, -9, 1), soft_clip(lv_w, -9, 1)
        z = mu_z + torch.exp(0.5 * lv_z) * torch.randn_like(mu_z)
        w = mu_w + torch.exp(0.5 * lv_w) * torch.randn_like(mu_w)
        reconstruction = ((x - self.px(z)) ** 2).sum(1)
        prior_mu, prior_lv = torch.split(self.pz(w).reshape(-1, K, 2 * NZ), NZ, 2)
        kl_z = gaussian_kl(mu_z.unsqueeze(1), lv_z.unsqueeze(1), soft_clip(prior_mu, -5, 5), soft_clip(prior_lv, -9, 1))
        w_term = 0.5 * (torch.exp(lv_w) + mu_w**2 - lv_w - 1).sum(-1)
        qy = torch.softmax(self.qy(mu_z), 1) * (1 - eps) + eps / K
        alpha_q = torch.exp(soft_clip(self.qd(mu_z), -5, 8))
        a0 = alpha_q.sum(1)
        expected_log_d = torch.digamma(alpha_q) - torch.digamma(a0).unsqueeze(1)
        z_term = (qy * kl_z).sum(1)
        y_term = (qy * torch.log(qy)).sum(1) - (qy * expected_log_d).sum(1)
        constant = -math.lgamma(K * alpha) + K * math.lgamma(alpha)
        d_term = torch.lgamma(a0) - torch.lgamma(alpha_q).sum(1) + ((alpha_q - alpha) * expected_log_d).sum(1) + constant
        return (reconstruction + z_term + w_term + y_term + d_term).mean()


generator = torch.Generator().manual_seed(args.seed)
values = torch.log1p(torch.exp(torch.randn(args.cells, G, generator=generator)))
data = torch.where(torch.rand(args.cells, G, generator=generator) < 0.1, values, torch.zeros(()))
model = Cgmvae()
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)


def step(rows):
    optimizer.zero_grad()
    loss = model(data[rows])
    loss.backward()
    optimizer.step()
    return loss


model.train()
order = torch.randperm(args.cells, generator=generator)
for s in range(5):
    step(order[s * args.batch_size : (s + 1) * args.batch_size])
start = time.perf_counter()
for s in range(0, args.cells, args.batch_size):
    rows = order[s : s + args.batch_size]
    if len(rows) > 1:
        step(rows)
seconds = time.perf_counter() - start
print(json.dumps({"torch": torch.__version__, "threads": args.threads, "batch_size": args.batch_size, "cells": args.cells, "genes": G, "seconds_per_epoch": round(seconds, 3), "cells_per_second": round(args.cells / seconds)}))
