// SoftRas on the real furniture chairs mixed with the procedural ones from the first iteration,
// for the issue's whole 60 minutes: softras_furniture_chair_mixed without the procedural
// pretraining run. Each of the 45 furniture chairs comes 8 times an epoch (360 of 1,060
// objects); validated and tested on the furniture chairs alone.
// Run: dotnet fsi build.fsx experiment softras_furniture_chair_mixed_scratch
#load "load.fsx"

open Reconstruct.App.Experiments

let experiment =
    { SoftRas.baseline with
        Name = "softras_furniture_chair_mixed_scratch"
        Stop = { Iterations = None; Minutes = Some 60.0 }
        Method =
            { SoftRas.baseline.Method with
                Data = Mixed(Furniture "chair", 8, [ Procedural("chair", 1000) ])
                ValidationInstances = 6 } }

exit (script SoftRas.run experiment (Array.tail fsi.CommandLineArgs))
