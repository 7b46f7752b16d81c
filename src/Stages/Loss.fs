module Reconstruct.Stages.Loss

open Reconstruct.Torch
open Reconstruct.Geometry

let iou (predicted: Tensor) (target: Tensor) =
    Shape.expect "Loss.iou" "predicted" predicted.Shape [ 4 ] [ 1; -1; -1 ]
    if target.Shape <> predicted.Shape then
        invalidArg "target" (sprintf "Loss.iou: target must have the shape of predicted %s, received %s" (Shape.text predicted.Shape) (Shape.text target.Shape))
    Scoped.run (fun () ->
        let dims = [| 1; 2; 3 |]
        let overlap = predicted * target
        let intersection = overlap.sum dims
        let union = (predicted + target - overlap).sum dims + 1e-6
        (1.0 - intersection / union).mean ())

let laplacian (topology: Topology) (vertices: Tensor) =
    Scoped.run (fun () -> (Regularizers.laplacianSquared topology vertices).mean ())

let flatten (topology: Topology) (vertices: Tensor) =
    Scoped.run (fun () -> (Regularizers.flatten topology vertices).mean ())

let mse (predicted: Tensor) (target: Tensor) =
    Shape.expect "Loss.mse" "predicted" predicted.Shape [ 4 ] [ -1; -1; -1 ]
    if target.Shape <> predicted.Shape then
        invalidArg "target" (sprintf "Loss.mse: target must have the shape of predicted %s, received %s" (Shape.text predicted.Shape) (Shape.text target.Shape))
    Scoped.run (fun () -> (predicted - target).square().mean ([| 1; 2; 3 |]))

let normalConsistency (topology: Topology) (vertices: Tensor) =
    Scoped.run (fun () -> (Regularizers.normalConsistency topology vertices).mean ())

let uniformLaplacian (topology: Topology) (vertices: Tensor) =
    Scoped.run (fun () -> (Regularizers.laplacianSmoothing topology vertices).mean ())

let posePrior (probabilities: Tensor) =
    Shape.expect "Loss.posePrior" "probabilities" probabilities.Shape [ 2 ] [ -1 ]
    let k = probabilities.Size 1
    if k = 0 then invalidArg "probabilities" "Loss.posePrior: probabilities must have at least one candidate, received K = 0"
    Scoped.run (fun () -> (probabilities.mean 0 - 1.0 / float k).abs().mean ())
