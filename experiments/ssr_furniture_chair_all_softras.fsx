// SoftRas-all on the furniture chairs (Debian's sweethome3d-furniture) (issue 14): SSR's upper reference, SoftRas trained on every
// training object with its cameras, with the data, seed, batch, schedules and iterations of the
// ssr_furniture_chair_N runs. Run: dotnet fsi build.fsx experiment ssr_furniture_chair_all_softras
#load "load.fsx"

open Reconstruct.App.Experiments

let experiment =
    Ssr.softRasReference "ssr_furniture_chair_all_softras" None { Ssr.baseline with Method = { Ssr.baseline.Method with Data = Furniture "chair" } }

exit (script SoftRas.run experiment (Array.tail fsi.CommandLineArgs))
