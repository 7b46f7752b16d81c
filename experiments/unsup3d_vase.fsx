// Unsup3d on procedural vases (issue 15), with the car's recipe (unsup3d_car.fsx): symmetric-protocol
// renders, trained on the images alone, scored with SIDE and MAD beside the reference rows.
// Run: dotnet fsi build.fsx experiment unsup3d_vase   (resume: ... unsup3d_vase --resume)
#load "load.fsx"

open Reconstruct.App
open Reconstruct.App.Experiments

let b = Unsup3dExperiment.baseline

let experiment =
    { b with
        Name = "unsup3d_vase"
        Method = { b.Method with Data = Procedural("vase", 500) } }

exit (Unsup3dExperiment.script experiment (Array.tail fsi.CommandLineArgs))
