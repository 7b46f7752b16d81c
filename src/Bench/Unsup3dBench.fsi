/// Unsup3d's costs, figures not assertions: the warping renderer at batch 64, 64 px,
/// supersample 2, float32, forward + backward, as a whole and by part (rasterise, depth
/// recompute, pooling, sampling grid, grid_sample), with a 512×512 matmul timed in the same run
/// as the reference; and one training step of `Unsup3dExperiment.baseline`'s pipeline at batch
/// 64 (`unsup3d_iter_ms`) with its breakdown and the renderer's share.
module Reconstruct.Bench.Unsup3dBench

/// Runs the measurements (a few minutes on 2 cores).
val all: unit -> Reconstruct.Bench.Report.Figure list
