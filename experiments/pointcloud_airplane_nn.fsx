// The paper's OURS-NN on procedural airplanes: pointcloud_airplane's model (runs/pointcloud_airplane: train it
// first) fine-tuned for 2,000 more iterations with the neighbour term: each training image's
// cloud, drawn at the pose the pose network gives one of its 5 nearest training images in that
// model's shape codes, must cover that image's silhouette. Its control is
// pointcloud_airplane_continued: the same fine-tune without the neighbour term.
// Run: dotnet fsi build.fsx experiment pointcloud_airplane_nn   (resume: ... --resume)
#load "load.fsx"

open Reconstruct.App
open Reconstruct.App.Experiments

let experiment = PointCloudExperiment.fineTuned true (PointCloudExperiment.on "pointcloud_airplane" (Procedural("airplane", 1000)))

exit (PointCloudExperiment.script experiment (Array.tail fsi.CommandLineArgs))
