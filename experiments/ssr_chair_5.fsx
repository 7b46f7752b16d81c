// SSR-5 on procedural chairs (issue 14): SoftRas on the first 5 training objects with their
// cameras plus every other training object's images, whose viewpoints SiamVP pseudo-labels.
// Its SoftRas-5 reference is ssr_chair_5_softras.fsx; experiments/ssr_table.fsx gathers the table.
// Run: dotnet fsi build.fsx experiment ssr_chair_5   (resume: ... ssr_chair_5 --resume)
#load "load.fsx"

open Reconstruct.App.Experiments

let experiment =
    { Ssr.baseline with
        Name = "ssr_chair_5"
        Method = { Ssr.baseline.Method with Data = Procedural("chair", 1000); Labelled = 5 } }

exit (script Ssr.run experiment (Array.tail fsi.CommandLineArgs))
