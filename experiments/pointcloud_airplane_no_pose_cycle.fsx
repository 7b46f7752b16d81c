// Ablation of pointcloud_airplane (procedural airplanes): without the pose cycle (its weight 0, so it is not
// computed); everything else, the budget included, as pointcloud_airplane.
// Run: dotnet fsi build.fsx experiment pointcloud_airplane_no_pose_cycle   (resume: ... --resume)
#load "load.fsx"

open Reconstruct.App
open Reconstruct.App.Experiments

let experiment = PointCloudExperiment.withoutPoseCycle (PointCloudExperiment.on "pointcloud_airplane" (Procedural("airplane", 1000)))

exit (PointCloudExperiment.script experiment (Array.tail fsi.CommandLineArgs))
