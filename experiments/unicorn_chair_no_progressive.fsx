// Ablation on procedural chairs: no progressive conditioning. Every code dimension from the first
// iteration, no constant mean-colour stage and no mean-colour batches, no frozen heads; the
// neighbours start as before. Everything else as Unicorn.chair 6000, whose run is
// unicorn_chair_every_lr1e-3 (the ablations keep its 6,000-iteration budget, half
// unicorn_chair's, so two fit a sitting). UNICORN reports that shapes then degenerate.
// Run: dotnet fsi build.fsx experiment unicorn_chair_no_progressive
#load "load.fsx"

open Reconstruct.App.Experiments

let chair = Unicorn.chair 6000

let curriculum = chair.Method.Curriculum

let experiment =
    { chair with
        Name = "unicorn_chair_no_progressive"
        Method =
            { chair.Method with
                Curriculum =
                    { curriculum with
                        Milestones = [ 0; 0; 0 ]
                        FreezeTranslationUntil = 0
                        FreezeShapeUntil = 0
                        FreezeScaleUntil = 0
                        MeanTextureChance = 0.0 } } }

exit (script Unicorn.run experiment (Array.tail fsi.CommandLineArgs))
