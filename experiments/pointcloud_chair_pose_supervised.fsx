// The reference of Navaneet et al.: pointcloud_chair with the true poses given (the pose net
// is not used or trained, no pose terms); everything else, the budget included, as
// pointcloud_chair. The self-supervised model's floor is to be within 1.5x of this in Chamfer.
// Run: dotnet fsi build.fsx experiment pointcloud_chair_pose_supervised
#load "load.fsx"

open Reconstruct.App

let experiment =
    { PointCloudExperiment.baseline with
        Name = "pointcloud_chair_pose_supervised"
        Method =
            { PointCloudExperiment.baseline.Method with
                Pipeline = { PointCloudExperiment.baseline.Method.Pipeline with PoseSupervised = true } } }

exit (PointCloudExperiment.script experiment (Array.tail fsi.CommandLineArgs))
