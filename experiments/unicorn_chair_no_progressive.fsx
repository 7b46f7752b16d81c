// Ablation of unicorn_chair: no progressive conditioning. Every code dimension from the first
// iteration, no constant mean-colour stage and no mean-colour batches, no frozen heads; the
// neighbours start as in unicorn_chair. UNICORN reports that shapes then degenerate.
// Run: dotnet fsi build.fsx experiment unicorn_chair_no_progressive
#load "load.fsx"

open Reconstruct.App.Experiments

let baseline = Unicorn.baseline.Method.Curriculum

let experiment =
    { Unicorn.baseline with
        Name = "unicorn_chair_no_progressive"
        Method =
            { Unicorn.baseline.Method with
                Data = Procedural("chair", 1000)
                Curriculum =
                    { baseline with
                        Milestones = [ 0; 0; 0 ]
                        FreezeTranslationUntil = 0
                        FreezeShapeUntil = 0
                        FreezeScaleUntil = 0
                        MeanTextureChance = 0.0 } } }

exit (script Unicorn.run experiment (Array.tail fsi.CommandLineArgs))
