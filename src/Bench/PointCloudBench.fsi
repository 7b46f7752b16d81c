/// The point-cloud pipeline's training step (issue 16), figures not assertions: one step of
/// `Pipelines.PointCloud` at its defaults and batch 16 (the losses forward, backward, Adam),
/// with the breakdown by part (each timed alone, forward + backward) and peak memory, and the
/// 3D Chamfer's neighbour search by k-d trees beside the dense distance-matrix search timed in
/// the same run.
module Reconstruct.Bench.PointCloudBench

/// Runs the measurements (about a minute on 2 idle cores).
val all: unit -> Reconstruct.Bench.Report.Figure list
