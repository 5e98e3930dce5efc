"""Writes a large h5ad of Poisson counts (anndata's csr_matrix layout) for the upload-memory benchmark.

Usage: python3 bench/big_h5ad.py OUT [--cells 250000] [--genes 20000] [--per-cell 1000]
The defaults give 250M stored values, 2 GB of data and indices. Written a block of rows at a time with h5py
(Debian's python3-h5py, a benchmark tool only), then opened with anndata to check it is a valid h5ad.
"""
import argparse

import h5py
import numpy as np

parser = argparse.ArgumentParser()
parser.add_argument("out")
parser.add_argument("--cells", type=int, default=250_000)
parser.add_argument("--genes", type=int, default=20_000)
parser.add_argument("--per-cell", type=int, default=1_000)
args = parser.parse_args()
n, g, k = args.cells, args.genes, args.per_cell
stride = g // k
rng = np.random.default_rng(0)
string = h5py.string_dtype()

with h5py.File(args.out, "w") as f:
    f.attrs["encoding-type"] = "anndata"
    f.attrs["encoding-version"] = "0.1.0"
    X = f.create_group("X")
    X.attrs["encoding-type"] = "csr_matrix"
    X.attrs["encoding-version"] = "0.1.0"
    X.attrs["shape"] = np.array([n, g])
    data = X.create_dataset("data", shape=(n * k,), dtype="float32", chunks=(1 << 20,))
    indices = X.create_dataset("indices", shape=(n * k,), dtype="int32", chunks=(1 << 20,))
    X["indptr"] = np.arange(n + 1, dtype=np.int64) * k
    block = 10_000
    for r0 in range(0, n, block):
        rows = min(block, n - r0)
        # one column per stride of genes: sorted and distinct within each row
        columns = np.arange(k, dtype=np.int32) * stride + rng.integers(0, stride, size=(rows, k), dtype=np.int32)
        indices[r0 * k : (r0 + rows) * k] = columns.ravel()
        data[r0 * k : (r0 + rows) * k] = (rng.poisson(1.5, size=rows * k) + 1).astype(np.float32)
    for name, count, prefix in (("obs", n, "cell"), ("var", g, "gene")):
        frame = f.create_group(name)
        frame.attrs["encoding-type"] = "dataframe"
        frame.attrs["encoding-version"] = "0.2.0"
        frame.attrs["_index"] = "_index"
        frame.attrs["column-order"] = np.array([], dtype=string)
        frame.create_dataset("_index", data=np.array([f"{prefix}{i}" for i in range(count)], dtype=object), dtype=string)

import anndata  # noqa: E402

check = anndata.read_h5ad(args.out, backed="r")
print(f"{args.out}: {check.n_obs} cells x {check.n_vars} genes, {n * k} stored values")
