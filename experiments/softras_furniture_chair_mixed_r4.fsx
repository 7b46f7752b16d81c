// softras_furniture_chair_mixed with each of the 45 furniture chairs 4 times an epoch instead of 8
// (180 of 880 objects, a fifth of every batch): the procedural model alone already scores 0.56x
// the template's Chamfer-L1 on the furniture chairs (softras_furniture_chair_pretrained) and 8
// repeats reached 0.53x, so does a smaller real share keep more of the procedural shapes?
// 40 minutes of procedural pretraining and these 20: 60 minutes of training in all.
// Needs runs/softras_chair_lr1e-4 (dotnet fsi build.fsx experiment softras_chair_lr1e-4, ~40 min).
// Run: dotnet fsi build.fsx experiment softras_furniture_chair_mixed_r4
#load "load.fsx"

open Reconstruct.App.Experiments

let experiment =
    { SoftRas.baseline with
        Name = "softras_furniture_chair_mixed_r4"
        InitFrom = Some "runs/softras_chair_lr1e-4"
        Stop = { Iterations = None; Minutes = Some 20.0 }
        Method =
            { SoftRas.baseline.Method with
                Data = Mixed(Furniture "chair", 4, [ Procedural("chair", 1000) ])
                ValidationInstances = 6 } }

exit (script SoftRas.run experiment (Array.tail fsi.CommandLineArgs))
