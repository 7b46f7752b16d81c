// SoftRas on procedural chairs: silhouettes of two of the 24 multi-views per object, cameras
// known (peers.md §B). Run: dotnet fsi build.fsx experiment softras_chair   (-- --resume to continue)
#load "load.fsx"

open Reconstruct.App.Experiments

let experiment =
    { SoftRas.baseline with
        Name = "softras_chair"
        // The first baseline's Adam 1e-3, with which experiments/results/softras_chair.md was run; the
        // library's baseline is now the paper's 1e-4 (softras_chair_lr1e-4.fsx says why).
        Optimiser = { SoftRas.baseline.Optimiser with Lr = 1e-3 }
        Method = { SoftRas.baseline.Method with Data = Procedural("chair", 1000) } }

exit (script SoftRas.run experiment (Array.tail fsi.CommandLineArgs))
