// Ablation of unicorn_chair: plain pixel MSE, no perceptual term (which costs about a third of
// the 3D step on 2 cores); everything else, the iterations included, as unicorn_chair.
// Run: dotnet fsi build.fsx experiment unicorn_chair_mse
#load "load.fsx"

open Reconstruct.App.Experiments
open Reconstruct.Pipelines

let experiment =
    { Unicorn.baseline with
        Name = "unicorn_chair_mse"
        Method =
            { Unicorn.baseline.Method with
                Data = Procedural("chair", 1000)
                Pipeline = { Unicorn.baseline.Method.Pipeline with Perceptual = Unicorn.PerceptualKind.Off } } }

exit (script Unicorn.run experiment (Array.tail fsi.CommandLineArgs))
