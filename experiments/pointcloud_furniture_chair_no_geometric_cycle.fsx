// Ablation of pointcloud_furniture_chair (the furniture chairs): without the geometric cycle (its weight 0, so it is not
// computed); everything else, the budget included, as pointcloud_furniture_chair.
// Run: dotnet fsi build.fsx experiment pointcloud_furniture_chair_no_geometric_cycle   (resume: ... --resume)
#load "load.fsx"

open Reconstruct.App
open Reconstruct.App.Experiments

let experiment = PointCloudExperiment.withoutGeometricCycle (PointCloudExperiment.on "pointcloud_furniture_chair" (Furniture "chair"))

exit (PointCloudExperiment.script experiment (Array.tail fsi.CommandLineArgs))
