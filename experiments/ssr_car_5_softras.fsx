// SoftRas-5 on procedural cars (issue 14): SSR's reference, SoftRas trained on the same first 5
// training objects alone, with the data, seed, batch, schedules and iterations of ssr_car_5.
// Run: dotnet fsi build.fsx experiment ssr_car_5_softras
#load "load.fsx"

open Reconstruct.App.Experiments

let experiment =
    Ssr.softRasReference "ssr_car_5_softras" (Some 5) { Ssr.baseline with Method = { Ssr.baseline.Method with Data = Procedural("car", 1000) } }

exit (script SoftRas.run experiment (Array.tail fsi.CommandLineArgs))
