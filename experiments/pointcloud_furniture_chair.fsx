// Navaneet et al. (CVPR 2020) on the furniture chairs (`reconstruct data` prepares them): pointcloud_chair's recipe (PointCloudExperiment.baseline,
// one image and its silhouette per training object, both cycles, the azimuth on the circle) on
// another category, for the per-category table of issue 16 (pointcloud_table.fsx).
// The furniture set has 45 training chairs, so one image per object is 45 images (three batches
// of 16 an epoch): expect the networks to memorise them well before 6,000 iterations.
// Run: dotnet fsi build.fsx experiment pointcloud_furniture_chair   (resume: ... pointcloud_furniture_chair --resume)
#load "load.fsx"

open Reconstruct.App
open Reconstruct.App.Experiments

let experiment = PointCloudExperiment.on "pointcloud_furniture_chair" (Furniture "chair")

exit (PointCloudExperiment.script experiment (Array.tail fsi.CommandLineArgs))
