// Navaneet et al. (CVPR 2020) on procedural airplanes (1,000 shapes, 700 for training): pointcloud_chair's recipe (PointCloudExperiment.baseline,
// one image and its silhouette per training object, both cycles, the azimuth on the circle) on
// another category, for the per-category table of issue 16 (pointcloud_table.fsx).
// Run: dotnet fsi build.fsx experiment pointcloud_airplane   (resume: ... pointcloud_airplane --resume)
#load "load.fsx"

open Reconstruct.App
open Reconstruct.App.Experiments

let experiment = PointCloudExperiment.on "pointcloud_airplane" (Procedural("airplane", 1000))

exit (PointCloudExperiment.script experiment (Array.tail fsi.CommandLineArgs))
