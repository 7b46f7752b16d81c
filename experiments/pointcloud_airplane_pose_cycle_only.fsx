// Probe of issue 16 on procedural airplanes: pointcloud_airplane's model fine-tuned for 2,000
// iterations with the pose net trained by the pose cycle alone (its image and mask terms at the
// predicted pose weighted 0; the shape net's terms unchanged). Why: on renders of its own clouds
// the pose net reads every azimuth right (100% within 30 degrees, also at each test image's true
// pose), but on the real images of true azimuths 270-360 degrees it answers the opposite view.
// The image terms cannot tell a view from its opposite, so they hold whatever the net first
// fell into; without them, its answer on real images comes from what the renders taught it.
// Needs runs/pointcloud_airplane (dotnet fsi build.fsx experiment pointcloud_airplane).
// Run: dotnet fsi build.fsx experiment pointcloud_airplane_pose_cycle_only
#load "load.fsx"

open Reconstruct.App
open Reconstruct.App.Experiments

let tuned = PointCloudExperiment.fineTuned false (PointCloudExperiment.on "pointcloud_airplane" (Procedural("airplane", 1000)))
let pipeline = tuned.Method.Pipeline

let experiment =
    { tuned with
        Name = "pointcloud_airplane_pose_cycle_only"
        Method = { tuned.Method with Pipeline = { pipeline with Weights = { pipeline.Weights with PoseImage = 0.0; PoseMask = 0.0 } } } }

exit (PointCloudExperiment.script experiment (Array.tail fsi.CommandLineArgs))
