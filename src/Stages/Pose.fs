module Reconstruct.Stages.Pose

open System
open Reconstruct.Torch
open Reconstruct.Torch.Layers
open Reconstruct.Geometry

type Ranges =
    { Candidates: int
      AzimuthInits: float[]
      AzimuthRange: float
      ElevationInit: float
      ElevationRange: float
      RollRange: float
      TranslationRange: float * float * float
      Distance: float }

    static member Synthetic =
        { Candidates = 6
          AzimuthInits = Array.init 6 (fun k -> Rotation.radians (60.0 * float k))
          AzimuthRange = Rotation.radians (0.52 * 60.0)
          ElevationInit = Rotation.radians 30.0
          ElevationRange = 0.0
          RollRange = 0.0
          TranslationRange = (0.2, 0.2, 0.0)
          Distance = 2.732 }

    static member Photos =
        { Ranges.Synthetic with
            ElevationInit = Rotation.radians 10.0
            ElevationRange = Rotation.radians (0.52 * 40.0)
            RollRange = Rotation.radians (0.52 * 60.0)
            TranslationRange = (0.3, 0.3, 0.3) }

let withCandidates (count: int) (ranges: Ranges) =
    if count <= 0 then invalidArg "count" (sprintf "Pose.withCandidates: count must be positive, received %d" count)
    let step = 360.0 / float count
    { ranges with
        Candidates = count
        AzimuthInits = Array.init count (fun k -> Rotation.radians (step * float k))
        AzimuthRange = Rotation.radians (0.52 * step) }

type Candidates =
    { Rotation: Mlp list
      Translation: Mlp list
      Probability: Mlp }

type Predicted =
    { Azimuth: Tensor
      Elevation: Tensor
      Roll: Tensor
      Rotation: Tensor
      Translation: Tensor
      Probabilities: Tensor
      Logits: Tensor }

let private checkRanges (fn: string) (ranges: Ranges) =
    if ranges.Candidates <= 0 || ranges.AzimuthInits.Length <> ranges.Candidates then
        invalidArg "ranges" (sprintf "%s: ranges need Candidates > 0 initial azimuths, received Candidates %d and %d azimuths" fn ranges.Candidates ranges.AzimuthInits.Length)

let create (generator: Generator) (featureSize: int) (hidden: int) (ranges: Ranges) =
    checkRanges "Pose.create" ranges
    let k = ranges.Candidates
    let translation = List.init k (fun _ -> Encode.head generator hidden featureSize 3 true)
    let rotation = List.init k (fun _ -> Encode.head generator hidden featureSize 3 true)
    let probability = Encode.head generator hidden featureSize k false
    ({ Rotation = rotation; Translation = translation; Probability = probability }: Candidates)

let apply (candidates: Candidates) (ranges: Ranges) (features: Tensor) =
    checkRanges "Pose.apply" ranges
    let k = ranges.Candidates
    if candidates.Rotation.Length <> k || candidates.Translation.Length <> k || Mlp.outFeatures candidates.Probability <> k then
        invalidArg "ranges" (sprintf "Pose.apply: the heads were built for %d candidates, the ranges have %d" candidates.Rotation.Length k)
    let featureSize = Mlp.inFeatures candidates.Probability
    if features.Dim <> 2 || features.Size 1 <> featureSize then
        invalidArg "features" (sprintf "Pose.apply: features must be (B, %d), received %s" featureSize (Shape.text features.Shape))
    use scope = DisposalScope.Open()
    let dtype = features.Dtype
    let ofHeads (heads: Mlp list) = Tensor.stack (heads |> List.map (fun h -> (Mlp.apply h features).tanh ()), 1) // (B, K, 3)
    let r = ofHeads candidates.Rotation
    let t = ofHeads candidates.Translation
    let inits = (Tensor.ofArray (ranges.AzimuthInits, [ 1; k ])).cast dtype
    let azimuth = inits + ranges.AzimuthRange * r.select (2, 0)
    let elevation = ranges.ElevationInit + ranges.ElevationRange * r.select (2, 1)
    let roll = ranges.RollRange * r.select (2, 2)
    let rotation = Rotation.fromEuler azimuth elevation roll
    let tx, ty, tz = ranges.TranslationRange
    let scale = (Tensor.ofArray [| tx; ty; tz |]).cast dtype
    let offset = (Tensor.ofArray [| 0.0; 0.0; ranges.Distance |]).cast dtype
    let translation = offset + scale * t
    let logits = Mlp.apply candidates.Probability features
    let probabilities = Functional.softmax 1 logits
    { Azimuth = scope.MoveOut azimuth
      Elevation = scope.MoveOut elevation
      Roll = scope.MoveOut roll
      Rotation = scope.MoveOut rotation
      Translation = scope.MoveOut translation
      Probabilities = scope.MoveOut probabilities
      Logits = scope.MoveOut logits }

let parameters (candidates: Candidates) : Named =
    [ for k, head in List.indexed candidates.Rotation do
          yield! Mlp.parameters head |> Named.prefix (sprintf "rotation.%d" k)
      for k, head in List.indexed candidates.Translation do
          yield! Mlp.parameters head |> Named.prefix (sprintf "translation.%d" k)
      yield! Mlp.parameters candidates.Probability |> Named.prefix "probability" ]

let select (predicted: Predicted) (index: Tensor) =
    let b = predicted.Rotation.Size 0
    if index.Dim <> 1 || index.Size 0 <> b || index.Dtype <> Dtype.Int64 then
        invalidArg "index" (sprintf "Pose.select: index must be (%d) int64, received %s %s" b (Shape.text index.Shape) (Dtype.name index.Dtype))
    Scoped.run2 (fun () ->
        let rotation = predicted.Rotation.gather(1, (index.view [ b; 1; 1; 1 ]).expand [ b; 1; 3; 3 ])
        let translation = predicted.Translation.gather(1, (index.view [ b; 1; 1 ]).expand [ b; 1; 3 ])
        rotation.squeeze 1, translation.squeeze 1)

let dispose (predicted: Predicted) =
    for t in [ predicted.Azimuth; predicted.Elevation; predicted.Roll; predicted.Rotation
               predicted.Translation; predicted.Probabilities; predicted.Logits ] do
        (t :> IDisposable).Dispose()
