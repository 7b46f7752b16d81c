// The control of pointcloud_airplane_nn: pointcloud_airplane's model (runs/pointcloud_airplane: train
// it first) fine-tuned for the same 2,000 more iterations with both cycles and no neighbour
// term, so that OURS-NN is compared with a model trained as long.
// Run: dotnet fsi build.fsx experiment pointcloud_airplane_continued   (resume: ... --resume)
#load "load.fsx"

open Reconstruct.App
open Reconstruct.App.Experiments

let experiment = PointCloudExperiment.fineTuned false (PointCloudExperiment.on "pointcloud_airplane" (Procedural("airplane", 1000)))

exit (PointCloudExperiment.script experiment (Array.tail fsi.CommandLineArgs))
