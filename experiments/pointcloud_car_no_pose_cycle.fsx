// Ablation of pointcloud_car (procedural cars): without the pose cycle (its weight 0, so it is not
// computed); everything else, the budget included, as pointcloud_car.
// Run: dotnet fsi build.fsx experiment pointcloud_car_no_pose_cycle   (resume: ... --resume)
#load "load.fsx"

open Reconstruct.App
open Reconstruct.App.Experiments

let experiment = PointCloudExperiment.withoutPoseCycle (PointCloudExperiment.on "pointcloud_car" (Procedural("car", 1000)))

exit (PointCloudExperiment.script experiment (Array.tail fsi.CommandLineArgs))
