// The control of pointcloud_car_nn: pointcloud_car's model (runs/pointcloud_car: train
// it first) fine-tuned for the same 2,000 more iterations with both cycles and no neighbour
// term, so that OURS-NN is compared with a model trained as long.
// Run: dotnet fsi build.fsx experiment pointcloud_car_continued   (resume: ... --resume)
#load "load.fsx"

open Reconstruct.App
open Reconstruct.App.Experiments

let experiment = PointCloudExperiment.fineTuned false (PointCloudExperiment.on "pointcloud_car" (Procedural("car", 1000)))

exit (PointCloudExperiment.script experiment (Array.tail fsi.CommandLineArgs))
