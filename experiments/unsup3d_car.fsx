// Unsup3d on procedural cars (issue 15): symmetric-protocol renders (within 60° of the front, a
// random light each), the model trained on the images alone, its view depth scored with SIDE
// and MAD against the rendered depth beside the constant and mean-depth reference rows.
// The ablations are unsup3d_car_no_*.fsx; experiments/unsup3d_table.fsx gathers the table.
// Run: dotnet fsi build.fsx experiment unsup3d_car   (resume: ... unsup3d_car --resume)
#load "load.fsx"

open Reconstruct.App

let experiment = { Unsup3dExperiment.baseline with Name = "unsup3d_car" }

exit (Unsup3dExperiment.script experiment (Array.tail fsi.CommandLineArgs))
