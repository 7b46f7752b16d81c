// Ablation on procedural chairs: plain pixel MSE, no perceptual term (which costs about a sixth of
// the 3D step); everything else as Unicorn.chair 6000, whose run is unicorn_chair_every_lr1e-3
// (the ablations keep its 6,000-iteration budget, half unicorn_chair's, so two fit a sitting).
// Run: dotnet fsi build.fsx experiment unicorn_chair_mse
#load "load.fsx"

open Reconstruct.App.Experiments
open Reconstruct.Pipelines

let chair = Unicorn.chair 6000

let experiment =
    { chair with
        Name = "unicorn_chair_mse"
        Method =
            { chair.Method with
                Pipeline = { chair.Method.Pipeline with Perceptual = Unicorn.PerceptualKind.Off } } }

exit (script Unicorn.run experiment (Array.tail fsi.CommandLineArgs))
