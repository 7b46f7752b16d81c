// Unsup3d on procedural cars, ablation (issue 15): no shading, the canonical image is the albedo (Unsup3d Table 3: fails).
// Everything else as unsup3d_car.fsx; experiments/unsup3d_table.fsx gathers the table.
// Run: dotnet fsi build.fsx experiment unsup3d_car_no_light   (resume: ... --resume)
#load "load.fsx"

open Reconstruct.App

let b = Unsup3dExperiment.baseline

let experiment =
    { b with
        Name = "unsup3d_car_no_light"
        Method = { b.Method with Pipeline = { b.Method.Pipeline with Lighting = false } } }

exit (Unsup3dExperiment.script experiment (Array.tail fsi.CommandLineArgs))
