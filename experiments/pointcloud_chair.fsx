// Navaneet et al. (CVPR 2020) on procedural chairs: one image and its silhouette per training
// object (700 objects, a view drawn per object), no camera; the shape and pose networks with
// the geometric and pose cycles (PointCloudExperiment.baseline).
// Run: dotnet fsi build.fsx experiment pointcloud_chair   (resume: ... pointcloud_chair --resume)
#load "load.fsx"

open Reconstruct.App

let experiment = { PointCloudExperiment.baseline with Name = "pointcloud_chair" }

exit (PointCloudExperiment.script experiment (Array.tail fsi.CommandLineArgs))
