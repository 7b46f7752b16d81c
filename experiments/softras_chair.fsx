// SoftRas on procedural chairs: silhouettes of two of the 24 multi-views per object, cameras
// known (peers.md §B). Run: dotnet fsi build.fsx experiment softras_chair   (-- --resume to continue)
#load "load.fsx"

open Reconstruct.App.Experiments

let experiment =
    { SoftRas.baseline with
        Name = "softras_chair"
        Method = { SoftRas.baseline.Method with Data = Procedural("chair", 1000) } }

exit (script SoftRas.run experiment (Array.tail fsi.CommandLineArgs))
