// The paper's OURS-NN on the furniture chairs: pointcloud_furniture_chair's model (runs/pointcloud_furniture_chair: train it
// first) fine-tuned for 2,000 more iterations with the neighbour term: each training image's
// cloud, drawn at the pose the pose network gives one of its 5 nearest training images in that
// model's shape codes, must cover that image's silhouette. Its control is
// pointcloud_furniture_chair_continued: the same fine-tune without the neighbour term.
// Run: dotnet fsi build.fsx experiment pointcloud_furniture_chair_nn   (resume: ... --resume)
#load "load.fsx"

open Reconstruct.App
open Reconstruct.App.Experiments

let experiment = PointCloudExperiment.fineTuned true (PointCloudExperiment.on "pointcloud_furniture_chair" (Furniture "chair"))

exit (PointCloudExperiment.script experiment (Array.tail fsi.CommandLineArgs))
