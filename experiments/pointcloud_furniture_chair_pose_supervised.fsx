// The reference of Navaneet et al. on the furniture chairs: pointcloud_furniture_chair with the true poses given
// (the pose net is not used or trained, no pose terms); everything else, the budget included,
// as pointcloud_furniture_chair. The self-supervised model's floor is to be within 1.5x of this in Chamfer.
// Run: dotnet fsi build.fsx experiment pointcloud_furniture_chair_pose_supervised
#load "load.fsx"

open Reconstruct.App
open Reconstruct.App.Experiments

let experiment = PointCloudExperiment.poseSupervised (PointCloudExperiment.on "pointcloud_furniture_chair" (Furniture "chair"))

exit (PointCloudExperiment.script experiment (Array.tail fsi.CommandLineArgs))
