// UNICORN on procedural chairs in the wild: 8 single views per instance at random azimuth,
// elevation −10…40°, roll ±10°, scale and shift, over random backgrounds (5,600 training
// images), with a learned background and the wider pose ranges of `Unicorn.wildPipeline`.
// Everything else is Unicorn.chair 6000 (lr 1e-3, EveryCandidate; 6,000 iterations so that the
// run fits a sitting beside another).
// Run: dotnet fsi build.fsx experiment unicorn_chair_wild
#load "load.fsx"

open Reconstruct.App.Experiments

let chair = Unicorn.chair 6000

let experiment =
    { chair with
        Name = "unicorn_chair_wild"
        Method =
            { chair.Method with
                Protocol = Unicorn.Wild 8
                Pipeline = { Unicorn.wildPipeline with Weights = chair.Method.Pipeline.Weights } } }

exit (script Unicorn.run experiment (Array.tail fsi.CommandLineArgs))
