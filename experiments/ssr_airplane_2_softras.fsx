// SoftRas-2 on procedural airplanes (issue 14): SSR's reference, SoftRas trained on the same first 2
// training objects alone, with the data, seed, batch, schedules and iterations of ssr_airplane_2.
// Run: dotnet fsi build.fsx experiment ssr_airplane_2_softras
#load "load.fsx"

open Reconstruct.App.Experiments

let experiment =
    Ssr.softRasReference "ssr_airplane_2_softras" (Some 2) { Ssr.baseline with Method = { Ssr.baseline.Method with Data = Procedural("airplane", 1000) } }

exit (script SoftRas.run experiment (Array.tail fsi.CommandLineArgs))
