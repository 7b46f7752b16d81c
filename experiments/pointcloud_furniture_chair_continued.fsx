// The control of pointcloud_furniture_chair_nn: pointcloud_furniture_chair's model (runs/pointcloud_furniture_chair: train
// it first) fine-tuned for the same 2,000 more iterations with both cycles and no neighbour
// term, so that OURS-NN is compared with a model trained as long.
// Run: dotnet fsi build.fsx experiment pointcloud_furniture_chair_continued   (resume: ... --resume)
#load "load.fsx"

open Reconstruct.App
open Reconstruct.App.Experiments

let experiment = PointCloudExperiment.fineTuned false (PointCloudExperiment.on "pointcloud_furniture_chair" (Furniture "chair"))

exit (PointCloudExperiment.script experiment (Array.tail fsi.CommandLineArgs))
