// SoftRas on procedural airplanes: silhouettes of two of the 24 multi-views per object, cameras
// known (peers.md §B). Run: dotnet fsi build.fsx experiment softras_airplane   (-- --resume to continue)
#load "load.fsx"

open Reconstruct.App.Experiments

let experiment =
    { SoftRas.baseline with
        Name = "softras_airplane"
        // The paper's Adam 1e-4: 1e-3 left 51 of 512 encoder features alive on chairs (softras_chair_lr1e-4.fsx)
        Optimiser = { SoftRas.baseline.Optimiser with Lr = 1e-4 }
        Method = { SoftRas.baseline.Method with Data = Procedural("airplane", 1000) } }

exit (script SoftRas.run experiment (Array.tail fsi.CommandLineArgs))
