// Unsup3d on procedural chairs (issue 15), with the car's recipe (unsup3d_car.fsx): symmetric-protocol
// renders, trained on the images alone, scored with SIDE and MAD beside the reference rows.
// Run: dotnet fsi build.fsx experiment unsup3d_chair   (resume: ... unsup3d_chair --resume)
#load "load.fsx"

open Reconstruct.App
open Reconstruct.App.Experiments

let b = Unsup3dExperiment.baseline

let experiment =
    { b with
        Name = "unsup3d_chair"
        Method = { b.Method with Data = Procedural("chair", 500) } }

exit (Unsup3dExperiment.script experiment (Array.tail fsi.CommandLineArgs))
