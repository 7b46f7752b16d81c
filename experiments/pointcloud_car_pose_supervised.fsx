// The reference of Navaneet et al. on procedural cars: pointcloud_car with the true poses given
// (the pose net is not used or trained, no pose terms); everything else, the budget included,
// as pointcloud_car. The self-supervised model's floor is to be within 1.5x of this in Chamfer.
// Run: dotnet fsi build.fsx experiment pointcloud_car_pose_supervised
#load "load.fsx"

open Reconstruct.App
open Reconstruct.App.Experiments

let experiment = PointCloudExperiment.poseSupervised (PointCloudExperiment.on "pointcloud_car" (Procedural("car", 1000)))

exit (PointCloudExperiment.script experiment (Array.tail fsi.CommandLineArgs))
