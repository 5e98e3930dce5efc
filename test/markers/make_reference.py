"""Writes scipy reference numbers for test/markers/wilcoxon.test.ts (run: python3 test/markers/make_reference.py).

Per group against all other cells (cells labelled -1 are "rest" for every group): z and p from
scipy.stats.ranksums (no tie correction, scanpy's default), tie-corrected p from
scipy.stats.mannwhitneyu(method="asymptotic", use_continuity=False), Benjamini-Hochberg written out
here, means/fold changes and fractions expressing with numpy.
"""
import json
import numpy as np
from scipy import stats

rng = np.random.default_rng(7)
n_cells, n_genes = 90, 12
counts = rng.poisson(rng.gamma(0.6, 2.0, size=(1, n_genes)) * rng.uniform(0.2, 2.0, size=(n_cells, 1)))
labels = rng.integers(0, 4, size=n_cells)
labels[:5] = -1
# group 2 expresses genes 0-2 more, so there are real markers next to null genes
counts[labels == 2, :3] += rng.poisson(4, size=((labels == 2).sum(), 3))
X = np.log1p(counts.astype(np.float64)).astype(np.float32)  # ties: equal counts give equal values
X64 = X.astype(np.float64)


def bh(p):
    m = len(p)
    order = np.argsort(p, kind="stable")
    adj = np.empty(m)
    running = 1.0
    for r in range(m - 1, -1, -1):
        running = min(running, p[order[r]] * m / (r + 1))
        adj[order[r]] = running
    return adj


groups = {}
for g in range(4):
    mask = labels == g
    z = np.array([stats.ranksums(X64[mask, j], X64[~mask, j]).statistic for j in range(n_genes)])
    p = np.array([stats.ranksums(X64[mask, j], X64[~mask, j]).pvalue for j in range(n_genes)])
    p_tie = np.array([
        stats.mannwhitneyu(X64[mask, j], X64[~mask, j], method="asymptotic", use_continuity=False).pvalue
        for j in range(n_genes)
    ])
    # scipy gives NaN where every value ties (zero variance); scanpy turns that score into 0, so p = 1
    p_tie = np.where(np.isnan(p_tie), 1.0, p_tie)
    mean_in = X64[mask].mean(0)
    mean_out = X64[~mask].mean(0)
    groups[str(g)] = {
        "score": z.tolist(),
        "pval": p.tolist(),
        "pval_adj": bh(p).tolist(),
        "pval_tie_corrected": p_tie.tolist(),
        "logfoldchange": np.log2((np.expm1(mean_in) + 1e-9) / (np.expm1(mean_out) + 1e-9)).tolist(),
        "pct_in": (X64[mask] != 0).mean(0).tolist(),
        "pct_out": (X64[~mask] != 0).mean(0).tolist(),
    }

with open(__file__.replace("make_reference.py", "scipy-reference.json"), "w") as f:
    json.dump({"scipy": __import__("scipy").__version__, "X": X.tolist(), "labels": labels.tolist(), "groups": groups}, f)
