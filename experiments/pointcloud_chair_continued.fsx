// The control of pointcloud_chair_nn: pointcloud_chair's model (runs/pointcloud_chair: train
// it first) fine-tuned for the same 2,000 more iterations with both cycles and no neighbour
// term, so that OURS-NN is compared with a model trained as long.
// Run: dotnet fsi build.fsx experiment pointcloud_chair_continued   (resume: ... --resume)
#load "load.fsx"

open Reconstruct.App
open Reconstruct.App.Experiments

let experiment = PointCloudExperiment.fineTuned false ({ PointCloudExperiment.baseline with Name = "pointcloud_chair" })

exit (PointCloudExperiment.script experiment (Array.tail fsi.CommandLineArgs))
