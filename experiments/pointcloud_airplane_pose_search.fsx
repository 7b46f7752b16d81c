// Probe of issue 16 on procedural airplanes: pointcloud_airplane with the pose search
// (Pipeline.PoseSearch, 4 candidates: the predicted azimuth and its quarter turns). Why:
// pointcloud_airplane's clouds were right where its azimuths were half a turn off (turning a
// flipped instance's cloud by 180 degrees made its Chamfer worse), and whole ranges of true
// azimuths were flipped: a pose-net minimum that its image terms cannot leave.
// Run: dotnet fsi build.fsx experiment pointcloud_airplane_pose_search   (resume: ... --resume)
#load "load.fsx"

open Reconstruct.App
open Reconstruct.App.Experiments

let airplane = PointCloudExperiment.on "pointcloud_airplane" (Procedural("airplane", 1000))

let experiment =
    { airplane with
        Name = "pointcloud_airplane_pose_search"
        Method = { airplane.Method with Pipeline = { airplane.Method.Pipeline with PoseSearch = Some { Candidates = 4; Weight = 1.0 } } } }

exit (PointCloudExperiment.script experiment (Array.tail fsi.CommandLineArgs))
