// SoftRas-20 on the furniture chairs (Debian's sweethome3d-furniture) (issue 14): SSR's reference, SoftRas trained on the same first 20
// training objects alone, with the data, seed, batch, schedules and iterations of ssr_furniture_chair_20.
// Run: dotnet fsi build.fsx experiment ssr_furniture_chair_20_softras
#load "load.fsx"

open Reconstruct.App.Experiments

let experiment =
    Ssr.softRasReference "ssr_furniture_chair_20_softras" (Some 20) { Ssr.baseline with Method = { Ssr.baseline.Method with Data = Furniture "chair" } }

exit (script SoftRas.run experiment (Array.tail fsi.CommandLineArgs))
