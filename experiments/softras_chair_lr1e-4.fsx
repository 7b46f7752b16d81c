// SoftRas on procedural chairs as softras_chair, with the paper's Adam 1e-4 instead of the
// first baseline's 1e-3 (this run made 1e-4 the library's baseline): after 1,228 iterations at 1e-3 only 51 of the encoder's 512 features were
// still active (the others dead ReLUs, constant over inputs) and the reconstructions were one
// mean chair; at 300 iterations 1e-3 had 74 active features, 1e-4 186. Does 1e-4 keep the
// encoder alive and give instance-specific shapes within the same 20 minutes?
// Run: dotnet fsi build.fsx experiment softras_chair_lr1e-4
#load "load.fsx"

open Reconstruct.App.Experiments

let experiment =
    { SoftRas.baseline with
        Name = "softras_chair_lr1e-4"
        Optimiser = { SoftRas.baseline.Optimiser with Lr = 1e-4 }
        // Run as 20 minutes, then resumed to 40 (`reconstruct train --resume runs/softras_chair_lr1e-4 --minutes 40`).
        Stop = { Iterations = None; Minutes = Some 40.0 }
        Method = { SoftRas.baseline.Method with Data = Procedural("chair", 1000) } }

exit (script SoftRas.run experiment (Array.tail fsi.CommandLineArgs))
