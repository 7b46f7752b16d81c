/// Unsup3d's costs, figures not assertions: the warping renderer at batch 64, 64 px,
/// supersample 2, float32, forward + backward, as a whole and by part (rasterise, depth
/// recompute, pooling, sampling grid, grid_sample), with a 512×512 matmul timed in the same run
/// as the reference.
module Reconstruct.Bench.Unsup3dBench

/// Runs the measurements (well under a minute on 2 cores).
val all: unit -> Reconstruct.Bench.Report.Figure list
