module Reconstruct.Stages.Unsup3dEval

open Reconstruct.Torch
open Reconstruct.Eval

let mad (focalPredicted: float) (predicted: Tensor) (focalTruth: float) (groundTruth: Tensor) (mask: Tensor) =
    if predicted.Dim <> 3 || predicted.Size 1 <> predicted.Size 2 || predicted.Size 1 < 3 then
        invalidArg "predicted" (sprintf "Unsup3dEval.mad: predicted must be (B, S, S) with S >= 3, received %s" (Shape.text predicted.Shape))
    if groundTruth.Shape <> predicted.Shape then
        invalidArg "groundTruth" (sprintf "Unsup3dEval.mad: groundTruth must be %s like predicted, received %s" (Shape.text predicted.Shape) (Shape.text groundTruth.Shape))
    Scoped.run (fun () ->
        use _ = Autograd.noGrad ()
        let normalsOf (focal: float) (depth: Tensor) = Unsup3d.normals (Unsup3d.depthToPoints focal (depth.cast Float64))
        DepthMetrics.angleDeviation (normalsOf focalPredicted predicted) (normalsOf focalTruth groundTruth) mask)

type Row = { Side: DepthMetrics.Summary; Mad: DepthMetrics.Summary }

type References = { ConstantNullDepth: Row; MeanGroundTruthDepth: Row }

let references (focal: float) (trainingTruth: Tensor) (trainingMask: Tensor) (testTruth: Tensor) (testMask: Tensor) =
    if trainingTruth.Dim <> 3 || testTruth.Dim <> 3 || trainingTruth.Shape.[1..] <> testTruth.Shape.[1..] then
        invalidArg "testTruth" (sprintf "Unsup3dEval.references: testTruth must be (M, H, W) at trainingTruth's (N, H, W) size, received %s and %s" (Shape.text testTruth.Shape) (Shape.text trainingTruth.Shape))
    use _ = DisposalScope.Open()
    use _ = Autograd.noGrad ()
    let row (prediction: Tensor) =
        { Side = DepthMetrics.summary ((DepthMetrics.side prediction testTruth testMask).ToFloat64s())
          Mad = DepthMetrics.summary ((mad focal prediction focal testTruth testMask).ToFloat64s()) }
    let mean = DepthMetrics.meanDepth trainingTruth trainingMask
    { ConstantNullDepth = row ((testTruth.cast Float64).onesLike ())
      MeanGroundTruthDepth = row (mean.unsqueeze(0).expandAs (testTruth.cast Float64)) }
