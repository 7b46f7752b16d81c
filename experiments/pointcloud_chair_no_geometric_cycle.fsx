// Ablation of pointcloud_chair: without the geometric cycle (its weight 0, so it is not computed);
// everything else, the budget included, as pointcloud_chair.
// Run: dotnet fsi build.fsx experiment pointcloud_chair_no_geometric_cycle
#load "load.fsx"

open Reconstruct.App

let baseline = PointCloudExperiment.baseline.Method.Pipeline

let experiment =
    { PointCloudExperiment.baseline with
        Name = "pointcloud_chair_no_geometric_cycle"
        Method =
            { PointCloudExperiment.baseline.Method with
                Pipeline = { baseline with Weights = { baseline.Weights with GeometricCycle = 0.0 } } } }

exit (PointCloudExperiment.script experiment (Array.tail fsi.CommandLineArgs))
