// UNICORN on procedural chairs with 12 pose candidates instead of the paper's 6 (initial azimuths
// every 30°, each ±15.6°). Why: after 6,000 iterations with K = 6 (unicorn_chair) the probability
// head splits the circle into 2–3 sectors and each candidate's azimuth regression barely moves
// (one candidate covers 135° of true azimuths while its own moves 16°); 41% of the chosen
// azimuths sit at their tanh range's edge. With K = 12 the choice among candidates carries more
// of the pose and each candidate has half the angle to regress. The pose step renders 12·B
// candidates instead of 6·B. Everything else is unicorn_chair's.
// Run: dotnet fsi build.fsx experiment unicorn_chair_k12   (resume: ... unicorn_chair_k12 --resume)
#load "load.fsx"

open Reconstruct.Stages
open Reconstruct.App.Experiments

let experiment =
    { Unicorn.baseline with
        Name = "unicorn_chair_k12"
        Method =
            { Unicorn.baseline.Method with
                Data = Procedural("chair", 1000)
                Pipeline = { Unicorn.baseline.Method.Pipeline with Pose = Pose.withCandidates 12 Unicorn.baseline.Method.Pipeline.Pose } } }

exit (script Unicorn.run experiment (Array.tail fsi.CommandLineArgs))
