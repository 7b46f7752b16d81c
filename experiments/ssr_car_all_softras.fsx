// SoftRas-all on procedural cars (issue 14): SSR's upper reference, SoftRas trained on every
// training object with its cameras, with the data, seed, batch, schedules and iterations of the
// ssr_car_N runs. Run: dotnet fsi build.fsx experiment ssr_car_all_softras
#load "load.fsx"

open Reconstruct.App.Experiments

let experiment =
    Ssr.softRasReference "ssr_car_all_softras" None { Ssr.baseline with Method = { Ssr.baseline.Method with Data = Procedural("car", 1000) } }

exit (script SoftRas.run experiment (Array.tail fsi.CommandLineArgs))
