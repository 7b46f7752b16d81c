// UNICORN on procedural chairs, twice the iterations of unicorn_chair (12,000 at batch 16, the
// curriculum and the learning-rate drop scaled to them); everything else is unicorn_chair's.
// Run: dotnet fsi build.fsx experiment unicorn_chair_long   (resume: ... unicorn_chair_long --resume)
//
// Why: unicorn_chair's validation mask IoU was still rising at 6,000 iterations (0.66 at 3,000,
// 0.70 at 6,000) while the azimuth within 30° had levelled near 47%. This run says whether more
// training alone reaches the floors. It takes about 130 minutes alone on 2 cores, more than a
// 90-minute sitting: stop it with Ctrl+C (it checkpoints) and resume it later; the wall-clock
// guard counts training time over all sittings.
#load "load.fsx"

open Reconstruct.App.Experiments

let iterations = 12_000

let experiment =
    { Unicorn.baseline with
        Name = "unicorn_chair_long"
        Method =
            { Unicorn.baseline.Method with
                Data = Procedural("chair", 1000)
                Curriculum = Reconstruct.Pipelines.Unicorn.Curriculum.scaled iterations }
        LearningRate = Reconstruct.Torch.Optim.MultiStep([ iterations * 9 / 10 ], 0.2)
        Stop = { Iterations = Some iterations; Minutes = Some 180.0 } }

exit (script Unicorn.run experiment (Array.tail fsi.CommandLineArgs))
