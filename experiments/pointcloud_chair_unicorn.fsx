// UNICORN's chair meshes on the point-cloud table of issue 16: a UNICORN chair model predicts a
// mesh from each val and test image of pointcloud_chair's evaluation (over white, as UNICORN's
// training images), each mesh is sampled to 1,024 points as the truth is, and the same global
// rotation fit and scores follow (PointCloudExperiment.scoreMeshes). Nothing is trained here.
// Model: runs/unicorn_chair (`dotnet fsi build.fsx experiment unicorn_chair` makes it), or the
// one named after `--` (a run folder, a model folder, or a shipped model such as unicorn-chair).
// Run: dotnet fsi build.fsx experiment pointcloud_chair_unicorn [-- MODEL]
#load "load.fsx"

open System.IO
open Reconstruct.Torch
open Reconstruct.App

module Unicorn = Reconstruct.Pipelines.Unicorn

let spec =
    match Array.tail fsi.CommandLineArgs |> Array.filter (fun a -> a <> "--") with
    | [| model |] -> model
    | [||] -> "runs/unicorn_chair"
    | other -> failwithf "pointcloud_chair_unicorn: at most one argument, the model; received %s" (String.concat " " other)

let run () =
    use loaded = Predict.load spec
    printfn "%s" loaded.Description
    let faces = Unicorn.faces loaded.Model
    let predict (images: Tensor) =
        let p = Unicorn.predict loaded.Model images
        [ for k in 0 .. images.Size 0 - 1 -> (p.Vertices.select (0, k)).unsqueeze 0, faces ]
    let experiment = { PointCloudExperiment.baseline with Name = "pointcloud_chair" }
    let results = Path.Combine(__SOURCE_DIRECTORY__, "results")
    for file in PointCloudExperiment.scoreMeshes experiment "pointcloud_chair_unicorn" loaded.Description 1.0 predict results (printfn "%s") do
        printfn "wrote %s" file

try
    run ()
    exit 0
with Predict.ModelError (path, problem) ->
    eprintfn "pointcloud_chair_unicorn: %s: %s" path problem
    exit 2
