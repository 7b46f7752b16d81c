// What an Unsup3d checkpoint has learnt, beyond SIDE and MAD: how its view angles follow the
// true view's (`orbitAngles`; correlation, spread and error: a view stuck near 0 or at ±60° shows
// here first), its light (k_a or k_d at a bound means the tanh saturated), whether the depth
// depends on the image (its spread over images against within one), and the results' figure
// of the factors (`Unsup3dExperiment.writeFigure`) on the first val images. For diagnosis; the
// results files are the runs' own.
// Run: dotnet fsi experiments/unsup3d_probe.fsx RUN_DIR [CHECKPOINT] [FIGURE.png]
#load "unsup3d_run.fsx"

open System
open System.IO
open Reconstruct.Torch
open Reconstruct.Data
open Reconstruct.Train
open Reconstruct.App

module P = Reconstruct.Pipelines.Unsup3d

let _, set, model, runDir, rest =
    Unsup3d_run.loadFromArgs "dotnet fsi experiments/unsup3d_probe.fsx RUN_DIR [CHECKPOINT] [FIGURE.png]"
let figurePath = if rest.Length > 0 then rest.[0] else Path.Combine(runDir, Trainer.EvalFolder, "probe.png")

let n = min 128 set.Count
let samples = Array.init n id
let images = Tensor.cat ([ for s in samples -> SingleView.image set s ], 0) * 2.0 - 1.0
let p = P.predict model images
let f = p.Factors
let host (t: Tensor) = t.contiguous().ToArray<float32>() |> Array.map float
let mean (a: float[]) = Array.average a
let spread (a: float[]) = let mu = mean a in sqrt (a |> Array.averageBy (fun x -> (x - mu) ** 2.0))
let correlation (a: float[]) (b: float[]) =
    let ma, mb = mean a, mean b
    let c = Array.map2 (fun x y -> (x - ma) * (y - mb)) a b |> Array.sum
    c / sqrt ((a |> Array.sumBy (fun x -> (x - ma) ** 2.0)) * (b |> Array.sumBy (fun y -> (y - mb) ** 2.0)) + 1e-12)
let angles = host f.View.Angles
// The true view as the model's angles (`orbitAngles`): the z angle (roll) follows the azimuth
// by itself, sin el·sin az, so raw correlations with azimuth and elevation mislead.
let truth =
    samples
    |> Array.map (fun s ->
        let v = SingleView.view set s
        Reconstruct.Stages.Unsup3d.orbitAngles (v.Azimuth * Math.PI / 180.0) (v.Elevation * Math.PI / 180.0))
for axis, name in [ 0, "x"; 1, "y"; 2, "z" ] do
    let a = Array.init n (fun i -> angles.[i * 3 + axis] * 180.0 / Math.PI)
    let t = truth |> Array.map (fun (x, y, z) -> (match axis with 0 -> x | 1 -> y | _ -> z) * 180.0 / Math.PI)
    // The canonical pitch is free (symmetry does not fix it): errors after the mean offset.
    let offset = mean a - mean t
    let error = Array.map2 (fun p q -> abs (p - q - offset)) a t |> mean
    printfn "view angle %s: mean %.1f°, spread %.1f° (true %.1f°); correlation with the true angle %.2f, mean error after the offset %.1f°" name (mean a) (spread a) (spread t) (correlation a t) error
let ambient, diffuse = host f.Light.Ambient, host f.Light.Diffuse
printfn "light: k_a %.3f ± %.3f, k_d %.3f ± %.3f, mean direction %A" (mean ambient) (spread ambient) (mean diffuse) (spread diffuse) (host (f.Light.Direction.mean 0) |> Array.map (fun v -> Math.Round(v, 3)))
let colour (x: Tensor) = (x.std 1).mean().ToScalar()
printfn "albedo colour (mean std over RGB) %.3f against the images' %.3f" (colour f.Albedo) (colour images)
printfn "canonical depth: spread over images %.4f, within an image %.4f" ((f.Depth.std 0).mean().ToScalar()) ((f.Depth.reshape [ n; -1 ]).std(1).mean().ToScalar())
let row = Unsup3dExperiment.score model set 64
printfn "val (64 images): SIDE %.2f×10⁻², MAD %.1f°" (row.Side.Mean * 100.0) row.Mad.Mean

Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath figurePath)) |> ignore
Unsup3dExperiment.writeFigure figurePath model set
printfn "figure: %s" figurePath
