// The procedural chairs' model (softras_chair_lr1e-4) scored on the furniture chairs: one step at
// a learning rate of 1e-9 (the trainer needs one), so what the fine-tuning runs start from.
// Needs runs/softras_chair_lr1e-4 (dotnet fsi build.fsx experiment softras_chair_lr1e-4, ~40 min).
// Run: dotnet fsi build.fsx experiment softras_furniture_chair_pretrained
#load "load.fsx"

open Reconstruct.App.Experiments

let experiment =
    { SoftRas.baseline with
        Name = "softras_furniture_chair_pretrained"
        InitFrom = Some "runs/softras_chair_lr1e-4"
        Optimiser = { SoftRas.baseline.Optimiser with Lr = 1e-9 }
        Stop = { Iterations = Some 1; Minutes = None }
        Method = { SoftRas.baseline.Method with Data = Furniture "chair"; ValidationInstances = 6 } }

exit (script SoftRas.run experiment (Array.tail fsi.CommandLineArgs))
