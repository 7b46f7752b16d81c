// UNICORN on procedural chairs with the pose step's error of every candidate added, unweighted
// (Weights.EveryCandidate = 1; the paper's loss weights each candidate by its probability only).
// Why: after 6,000 iterations of unicorn_chair 41% of the chosen azimuths sat at the edge of
// their candidate's ±31° range, and one candidate covered 135° of true azimuths while its own
// azimuth moved 16°. Under p-weighting a candidate the probability head has given up gets no
// gradient, so it is untrained for the images it would have to take over; with the unweighted
// mean every candidate learns the best azimuth within its own range for every image.
// Everything else is unicorn_chair's. Run: dotnet fsi build.fsx experiment unicorn_chair_every
// The wall-clock guard is 170 min because this A/B ran at 1 thread beside another run; alone on
// 2 cores 6,000 iterations take about 66 minutes.
//
// Measured (stopped at 2,149 iterations to free its core for unicorn_chair_every_lr1e-3): validation
// mask IoU 0.645/0.655/0.660/0.661 and azimuth within 30° 0.28/0.32/0.34/0.36 at 500/1,000/1,500/
// 2,000 iterations, against unicorn_chair's 0.63/0.65/0.66/0.664 and 0.32/0.34/0.40/0.40: no gain
// at the paper's learning rate.
#load "load.fsx"

open Reconstruct.App.Experiments

let experiment =
    { Unicorn.baseline with
        Name = "unicorn_chair_every"
        Method =
            { Unicorn.baseline.Method with
                Data = Procedural("chair", 1000)
                Pipeline =
                    { Unicorn.baseline.Method.Pipeline with
                        Weights = { Unicorn.baseline.Method.Pipeline.Weights with EveryCandidate = 1.0 } } }
        Stop = { Unicorn.baseline.Stop with Minutes = Some 170.0 } }

exit (script Unicorn.run experiment (Array.tail fsi.CommandLineArgs))
