// Unsup3d on procedural cars, variant (issue 15): the confidence maps of Unsup3d's faces, which its synthetic-car setting turns off.
// Everything else as unsup3d_car.fsx; experiments/unsup3d_table.fsx gathers the table.
// Run: dotnet fsi build.fsx experiment unsup3d_car_confidence   (resume: ... --resume)
#load "load.fsx"

open Reconstruct.App

let b = Unsup3dExperiment.baseline

let experiment =
    { b with
        Name = "unsup3d_car_confidence"
        Method = { b.Method with Pipeline = { b.Method.Pipeline with Confidence = true } } }

exit (Unsup3dExperiment.script experiment (Array.tail fsi.CommandLineArgs))
