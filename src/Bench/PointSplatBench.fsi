/// The point projection's costs (issue 16), figures not assertions: `PointSplat.render` (the
/// fused kernel) forward + backward at the paper's scale, batch 32 of 1,024 points at 64×64,
/// σ² = 0.4, with its breakdown (forward, backward) and peak memory, beside the dense
/// (B, H, W, N) reference `Reference.pointSplat` timed in the same run on a subset of the batch
/// and scaled to 32 (the notes say so), and their ratio.
module Reconstruct.Bench.PointSplatBench

/// Runs the measurements (under a minute on 2 idle cores).
val all: unit -> Reconstruct.Bench.Report.Figure list
