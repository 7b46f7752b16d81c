// UNICORN on procedural chairs in the wild: 8 single views per instance at random azimuth,
// elevation −10…40°, roll ±10°, scale and shift, over random backgrounds (5,600 training
// images), with a learned background and the wider pose ranges of `Unicorn.wildPipeline`.
// Run: dotnet fsi build.fsx experiment unicorn_chair_wild
#load "load.fsx"

open Reconstruct.App.Experiments

let experiment =
    { Unicorn.baseline with
        Name = "unicorn_chair_wild"
        Method =
            { Unicorn.baseline.Method with
                Data = Procedural("chair", 1000)
                Protocol = Unicorn.Wild 8
                Pipeline = Unicorn.wildPipeline } }

exit (script Unicorn.run experiment (Array.tail fsi.CommandLineArgs))
