"""umap-learn on the points bench/umap-scale.ts wrote: times fit_transform after a warm-up that compiles numba's kernels.

    /usr/bin/python3 bench/umap_learn.py POINTS.f32 N DIMS SEED OUT.f32   # prints one JSON line
"""
import json
import resource
import sys
import time

import numpy as np
import numba
import umap

points_path, n, dims, seed, out_path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
points = np.fromfile(points_path, dtype=np.float32).reshape(n, dims)
settings = dict(n_neighbors=15, min_dist=0.5, spread=1.0)
# The warm-up compiles pynndescent's and the layout's numba kernels, which a long-running process pays once.
umap.UMAP(**settings).fit_transform(points[:3000])
start = time.perf_counter()
cpu = time.process_time()
embedding = umap.UMAP(**settings).fit_transform(points)
seconds = time.perf_counter() - start
embedding.astype(np.float32).tofile(out_path)
print(json.dumps({
    "variant": "umap-learn", "seconds": seconds, "cpuSeconds": time.process_time() - cpu,
    "peakRssMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "umap": umap.__version__, "numba_threads": numba.get_num_threads(), "init": "spectral (umap-learn default)",
}))
