#load "load.fsx"
open Reconstruct.App.Experiments
let experiment =
    { SoftRas.baseline with
        Name = "trial_lr1e4"
        Optimiser = { SoftRas.baseline.Optimiser with Lr = 1e-4 }
        Stop = { Iterations = Some 300; Minutes = Some 10.0 }
        ProgressSeconds = 20.0
        EvalEvery = 100
        CheckpointEvery = 100
        Method = { SoftRas.baseline.Method with Data = Procedural("chair", 1000); ValidationInstances = 30; TestInstances = 40 } }
exit (script SoftRas.run experiment (Array.tail fsi.CommandLineArgs))
