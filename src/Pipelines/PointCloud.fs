module Reconstruct.Pipelines.PointCloud

open System
open Reconstruct.Torch
open Reconstruct.Torch.Layers
open Reconstruct.Geometry
open Reconstruct.Render
open Reconstruct.Stages
open Reconstruct.Eval

type Weights =
    { Image: float
      Mask: float
      Silhouette: float
      GeometricCycle: float
      PoseImage: float
      PoseMask: float
      PoseCycle: float }

    static member Defaults =
        { Image = 100.0
          Mask = 100.0
          // The paper's 1e-4 weighs its coded affinity (sums over pixel pairs with a 1e6 penalty);
          // this term is a mean in px², about 0.5 when the points cover the silhouette.
          Silhouette = 1.0
          GeometricCycle = 1e4
          PoseImage = 1.0
          PoseMask = 1.0
          PoseCycle = 1.0 }

type NeighbourConsistency =
    { Mask: float
      Silhouette: float
      Candidates: int }

type PoseSearch = { Candidates: int; Weight: float }

type Config =
    { ImageSize: int
      Points: int
      FovDegrees: float
      Distance: float
      Splat: PointSplatSettings
      RandomPoses: int
      ElevationMin: float
      ElevationMax: float
      Weights: Weights
      PoseSupervised: bool
      PoseAzimuth: PointCloud.AzimuthOutput option
      Neighbours: NeighbourConsistency option
      PoseSearch: PoseSearch option }

    static member NeighbourDefaults =
        { Mask = Weights.Defaults.Mask; Silhouette = Weights.Defaults.Silhouette; Candidates = 5 }

    static member Defaults =
        { ImageSize = 64
          Points = 1024
          FovDegrees = Reconstruct.Data.DatasetRender.fovDegrees
          Distance = 2.732
          Splat = PointSplatSettings.Defaults
          RandomPoses = 3
          ElevationMin = -20.0
          ElevationMax = 40.0
          Weights = Weights.Defaults
          PoseSupervised = false
          PoseAzimuth = Some PointCloud.Circle
          Neighbours = None
          PoseSearch = None }

type Model =
    { Config: Config
      Shape: PointCloud.ShapeNet
      Pose: PointCloud.PoseNet }

let create (generator: Generator) (config: Config) =
    let s = config.Splat
    if s.Height <> config.ImageSize || s.Width <> config.ImageSize then
        invalidArg "config" (sprintf "PointCloud.create: Splat is %d×%d but ImageSize is %d" s.Height s.Width config.ImageSize)
    if config.RandomPoses < 0 then invalidArg "config" (sprintf "PointCloud.create: RandomPoses must be ≥ 0, received %d" config.RandomPoses)
    if not (config.Distance > 0.0) then invalidArg "config" (sprintf "PointCloud.create: Distance must be positive, received %g" config.Distance)
    match config.PoseSearch with
    | Some p when p.Candidates < 2 -> invalidArg "config" (sprintf "PointCloud.create: PoseSearch.Candidates must be ≥ 2, received %d" p.Candidates)
    | _ -> ()
    match config.Neighbours with
    | Some n when n.Candidates < 1 -> invalidArg "config" (sprintf "PointCloud.create: Neighbours.Candidates must be ≥ 1, received %d" n.Candidates)
    | _ -> ()
    let shape = PointCloud.createShape generator config.ImageSize config.Points
    let pose = PointCloud.createPose generator config.ImageSize (defaultArg config.PoseAzimuth PointCloud.Interval)
    { Config = config; Shape = shape; Pose = pose }

let parameters (model: Model) : Named =
    (PointCloud.shapeParameters model.Shape |> Named.prefix "shape") @ (PointCloud.poseParameters model.Pose |> Named.prefix "pose")

let dispose (model: Model) = Named.dispose (parameters model)

type Batch =
    { Images: Tensor
      Masks: Tensor
      Azimuth: Tensor
      Elevation: Tensor
      Neighbour: Batch option }

    interface IDisposable with
        member b.Dispose() =
            for t in [ b.Images; b.Masks; b.Azimuth; b.Elevation ] do
                (t :> IDisposable).Dispose()
            b.Neighbour |> Option.iter (fun n -> (n :> IDisposable).Dispose())

let project (config: Config) (azimuth: Tensor) (elevation: Tensor) (points: Tensor) =
    Shape.expect "PointCloud.project" "points" points.Shape [ 3 ] [ 3 ]
    use scope = DisposalScope.Open()
    let camera = Camera.square config.FovDegrees config.ImageSize
    let pose = Camera.orbit azimuth elevation (azimuth.zerosLike ()) (azimuth.fullLike config.Distance)
    let p = Camera.project camera pose points
    scope.MoveOut(p.narrow (2, 0, 2)), scope.MoveOut(p.select (2, 2))

let render (config: Config) (azimuth: Tensor) (elevation: Tensor) (xyz: Tensor) (rgb: Tensor) =
    use scope = DisposalScope.Open()
    let xy, depth = project config azimuth elevation xyz
    let mask, colour = PointSplat.render config.Splat xy depth rgb
    scope.MoveOut mask, scope.MoveOut colour

/// The binary cross-entropy of each image's mask, averaged over its pixels: (B,). Every image
/// has the same pixel count, so the batch's mean of these is the mean over all pixels.
let private maskBcePerImage (predicted: Tensor) (target: Tensor) =
    Scoped.run (fun () ->
        let p = predicted.clamp (1e-6, 1.0 - 1e-6)
        ((target * p.log () + (target.neg () + 1.0) * (p.neg () + 1.0).log ()).reshape([ predicted.Size 0; -1 ]).mean 1).neg ())

/// Each image's squared colour error, summed over channels and averaged over pixels: (B,).
let private imageErrorPerImage (colour: Tensor) (images: Tensor) =
    Scoped.run (fun () -> (colour - images).square().sum(1).reshape([ images.Size 0; -1 ]).mean 1)

let maskBce (predicted: Tensor) (target: Tensor) =
    if predicted.Shape <> target.Shape then
        invalidArg "target" (sprintf "PointCloud.maskBce: target %s must have the prediction's shape %s" (Shape.text target.Shape) (Shape.text predicted.Shape))
    Scoped.run (fun () -> (maskBcePerImage predicted target).mean ())

/// Each point's nearest neighbour in the other cloud, both ways, as indices: exact k-d tree
/// searches, which cost a few milliseconds where the dense (N, M) distance matrix cost hundreds.
let private nearestBothWays (a: float32[]) (b: float32[]) =
    let aInB, bInA = Nearest.bothWays a b
    aInB.Indices, bInA.Indices

let private indexTensor (rows: int[][]) =
    Tensor.ofArray (Array.concat rows |> Array.map int64, [ rows.Length; rows.[0].Length ])

/// (x, y) pairs (count 2P, host) as xyz points in the plane z = 0.
let private planar (xy: float32[]) = Array.init (xy.Length / 2 * 3) (fun k -> if k % 3 = 2 then 0.0f else xy.[k / 3 * 2 + k % 3])

let silhouetteChamfer (xy: Tensor) (masks: Tensor) =
    Shape.expect "PointCloud.silhouetteChamfer" "xy" xy.Shape [ 3 ] [ 2 ]
    if masks.Dim <> 4 || masks.Size 1 <> 1 || masks.Size 0 <> xy.Size 0 then
        invalidArg "masks" (sprintf "PointCloud.silhouetteChamfer: masks must be (%d, 1, H, W), received %s" (xy.Size 0) (Shape.text masks.Shape))
    use scope = DisposalScope.Open()
    let h, w = masks.Size 2, masks.Size 3
    let n = xy.Size 1
    let hostMasks = (masks.reshape [ masks.Size 0; h * w ]).ToFloat32s()
    let hostPoints = xy.detach().contiguous().cast(Float32).ToFloat32s()
    let terms =
        [ for k in 0 .. xy.Size 0 - 1 do
              let foreground = [| for q in 0 .. h * w - 1 do if hostMasks.[k * h * w + q] > 0.5f then yield q |]
              if foreground.Length > 0 then
                  let centres = foreground |> Array.collect (fun q -> [| float32 (q % w) + 0.5f; float32 (q / w) + 0.5f |])
                  let nearestPixel, nearestPoint = nearestBothWays (planar hostPoints.[2 * n * k .. 2 * n * (k + 1) - 1]) (planar centres)
                  let points = xy.select (0, k)
                  let pixels = Tensor.ofArray(centres, [ foreground.Length; 2 ]).cast xy.Dtype
                  let take (t: Tensor) (index: int[]) = t.indexSelect (0, Tensor.ofArray (Array.map int64 index))
                  let forward = (points - take pixels nearestPixel).square().sum(1).mean ()
                  let backward = (pixels - take points nearestPoint).square().sum(1).mean ()
                  yield forward + backward ]
    match terms with
    | [] -> scope.MoveOut((Tensor.zeros ([ 1 ], xy.Dtype)).sum ())
    | _ -> scope.MoveOut((Tensor.stack (terms, 0)).mean ())

let chamferSquared (a: Tensor) (b: Tensor) =
    Shape.expect "PointCloud.chamferSquared" "a" a.Shape [ 3 ] [ 3 ]
    Shape.expect "PointCloud.chamferSquared" "b" b.Shape [ 3 ] [ 3 ]
    if b.Size 0 <> a.Size 0 then
        invalidArg "b" (sprintf "PointCloud.chamferSquared: b holds %d clouds but a holds %d" (b.Size 0) (a.Size 0))
    use scope = DisposalScope.Open()
    let clouds, n, m = a.Size 0, a.Size 1, b.Size 1
    let hostA = a.detach().contiguous().cast(Float32).ToFloat32s()
    let hostB = b.detach().contiguous().cast(Float32).ToFloat32s()
    let pairs =
        Array.Parallel.init clouds (fun k -> nearestBothWays hostA.[3 * n * k .. 3 * n * (k + 1) - 1] hostB.[3 * m * k .. 3 * m * (k + 1) - 1])
    let nearestInB, nearestInA = indexTensor (Array.map fst pairs), indexTensor (Array.map snd pairs)
    let gatherRows (cloud: Tensor) (index: Tensor) = cloud.gather (1, (index.unsqueeze 2).expand [ index.Size 0; index.Size 1; 3 ])
    let aToB = (a - gatherRows b nearestInB).square().sum(2).mean 1
    let bToA = (b - gatherRows a nearestInA).square().sum(2).mean 1
    scope.MoveOut(aToB + bToA)

let private wrap (angle: Tensor) = Tensor.atan2 (angle.sin (), angle.cos ())

let bestTurn (config: Config) (candidates: int) (imageWeight: float) (maskWeight: float) (xyz: Tensor) (rgb: Tensor) (azimuth: Tensor) (elevation: Tensor) (images: Tensor) (masks: Tensor) =
    if candidates < 1 then invalidArg "candidates" (sprintf "PointCloud.bestTurn: candidates must be ≥ 1, received %d" candidates)
    use _ = Autograd.noGrad ()
    use scope = DisposalScope.Open()
    let turns = [ for k in 0 .. candidates - 1 -> float k * 2.0 * Math.PI / float candidates ]
    let errors =
        [ for turn in turns ->
              let mask, colour = render config (azimuth + turn) elevation xyz rgb
              imageErrorPerImage colour images * imageWeight + maskBcePerImage mask masks * maskWeight ]
    // argmin returns the first minimum: the prediction itself wins its ties.
    let best = (Tensor.stack (errors, 1)).argmin 1
    scope.MoveOut(best.cast(azimuth.Dtype) * (2.0 * Math.PI / float candidates))

let losses (model: Model) (generator: Generator) (batch: Batch) =
    let c = model.Config
    let w = c.Weights
    let images, masks = batch.Images, batch.Masks
    let b = images.Size 0
    let xyz, rgb = PointCloud.applyShape model.Shape images
    let selfSupervised = not c.PoseSupervised
    let azimuth, elevation =
        if c.PoseSupervised then batch.Azimuth, batch.Elevation else PointCloud.applyPose model.Pose images
    let imageError (colour: Tensor) = (imageErrorPerImage colour images).mean ()
    let terms = Collections.Generic.List<string * float * Tensor>()
    let add name weight (make: unit -> Tensor) = if weight <> 0.0 then terms.Add(name, weight, make ())
    // The shape net's terms see the pose as a constant.
    if w.Image <> 0.0 || w.Mask <> 0.0 || w.Silhouette <> 0.0 then
        let xy, depth = project c (azimuth.detach ()) (elevation.detach ()) xyz
        if w.Image <> 0.0 || w.Mask <> 0.0 then
            let mask, colour = PointSplat.render c.Splat xy depth rgb
            add "image" w.Image (fun () -> imageError colour)
            add "mask" w.Mask (fun () -> maskBce mask masks)
        add "silhouette" w.Silhouette (fun () -> silhouetteChamfer xy masks)
    match c.Neighbours, batch.Neighbour with
    | Some _, None -> invalidArg "batch" "PointCloud.losses: the config has Neighbours (OURS-NN) but the batch has no Neighbour"
    | Some n, Some neighbour when n.Mask <> 0.0 || n.Silhouette <> 0.0 ->
        Shape.expect "PointCloud.losses" "Neighbour.Images" neighbour.Images.Shape [ 4 ] [ b; 3; c.ImageSize; c.ImageSize ]
        let azimuth, elevation =
            if c.PoseSupervised then neighbour.Azimuth, neighbour.Elevation
            else
                use _ = Autograd.noGrad ()
                PointCloud.applyPose model.Pose neighbour.Images
        let xy, depth = project c azimuth elevation xyz
        if n.Mask <> 0.0 then
            let mask, _ = PointSplat.render c.Splat xy depth rgb
            add "neighbour_mask" n.Mask (fun () -> maskBce mask neighbour.Masks)
        add "neighbour_silhouette" n.Silhouette (fun () -> silhouetteChamfer xy neighbour.Masks)
    | _ -> ()
    // The pose net's terms see the cloud as a constant.
    if selfSupervised && (w.PoseImage <> 0.0 || w.PoseMask <> 0.0) then
        let mask, colour = render c azimuth elevation (xyz.detach ()) (rgb.detach ())
        add "pose_image" w.PoseImage (fun () -> imageError colour)
        add "pose_mask" w.PoseMask (fun () -> maskBce mask masks)
    match c.PoseSearch with
    | Some search when selfSupervised && search.Weight <> 0.0 ->
        let turn = bestTurn c search.Candidates w.PoseImage w.PoseMask (xyz.detach ()) (rgb.detach ()) azimuth elevation images masks
        add "pose_search" search.Weight (fun () -> (wrap (azimuth - (azimuth.detach () + turn))).abs().mean ())
    | _ -> ()
    let poseCycle = selfSupervised && w.PoseCycle <> 0.0
    if c.RandomPoses > 0 && (w.GeometricCycle <> 0.0 || poseCycle) then
        let k = c.RandomPoses
        let randomAzimuth = Tensor.uniform ([ b * k ], -Math.PI, Math.PI, generator)
        let randomElevation = Tensor.uniform ([ b * k ], Rotation.radians c.ElevationMin, Rotation.radians c.ElevationMax, generator)
        // Pose-major: row r is image r mod B at random pose r.
        let xyzK, rgbK = xyz.repeat [ k; 1; 1 ], rgb.repeat [ k; 1; 1 ]
        let _, rendered = render c randomAzimuth randomElevation xyzK rgbK
        add "geometric_cycle" w.GeometricCycle (fun () ->
            let again, _ = PointCloud.applyShape model.Shape rendered
            (chamferSquared again xyzK).sum () / float b)
        if poseCycle then
            add "pose_cycle" w.PoseCycle (fun () ->
                let az, el = PointCloud.applyPose model.Pose (rendered.detach ())
                ((wrap (az - randomAzimuth)).abs () + (el - randomElevation).abs ()).mean ())
    let total = terms |> Seq.map (fun (_, weight, t) -> t * weight) |> Seq.reduce (+)
    [ for name, _, t in terms -> name, t
      yield "total", total ]

type Prediction =
    { Xyz: Tensor
      Rgb: Tensor
      Azimuth: Tensor
      Elevation: Tensor }

let predict (model: Model) (images: Tensor) =
    use _ = Autograd.noGrad ()
    let xyz, rgb = PointCloud.applyShape model.Shape images
    let azimuth, elevation = PointCloud.applyPose model.Pose images
    { Xyz = xyz; Rgb = rgb; Azimuth = azimuth; Elevation = elevation }

let turntable (config: Config) (prediction: Prediction) =
    [ for quarter in 0 .. 3 ->
          snd (render config (prediction.Azimuth + float quarter * Math.PI / 2.0) prediction.Elevation prediction.Xyz prediction.Rgb) ]
