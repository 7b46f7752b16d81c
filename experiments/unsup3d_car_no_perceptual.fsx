// Unsup3d on procedural cars, ablation (issue 15): λ_p = 0, the paper's own setting on some synthetic data (no ResNet-18 features).
// Everything else as unsup3d_car.fsx; experiments/unsup3d_table.fsx gathers the table.
// Run: dotnet fsi build.fsx experiment unsup3d_car_no_perceptual   (resume: ... --resume)
#load "load.fsx"

open Reconstruct.App

let b = Unsup3dExperiment.baseline

let experiment =
    { b with
        Name = "unsup3d_car_no_perceptual"
        Method = { b.Method with Pipeline = { b.Method.Pipeline with PerceptualWeight = 0.0 } } }

exit (Unsup3dExperiment.script experiment (Array.tail fsi.CommandLineArgs))
