/// Putting a predicted shape where the true one is before comparing them, as UNICORN's
/// evaluation does: into the true object frame through the predicted and true cameras, a
/// bounding-box normalisation, then a gradient ICP over rotation (6D), translation and
/// anisotropic scale.
namespace Reconstruct.Eval

open System
open Reconstruct.Torch
open Reconstruct.Geometry

/// y = R (s ⊙ x) + t on host values (float64): an anisotropic scale, then a rotation, then a
/// translation (the order of `Pose`).
type Transform =
    { /// 9 values, row-major R (y = R x acts on column vectors).
      Rotation: float[]
      /// 3 per-axis scales s.
      Scale: float[]
      /// 3 values t.
      Translation: float[] }

/// How a prediction is brought onto the truth before it is scored.
[<RequireQualifiedAccess>]
type AlignmentMode =
    /// UNICORN: each shape normalised by its own bounding box (centred, max |coordinate| = 0.5),
    /// then the gradient ICP. Scores shape only, not scale, position or orientation.
    | Icp of IcpOptions
    /// The prediction stays in the true object frame (reached through the cameras); both shapes
    /// are normalised by the TRUE shape's bounding box, so errors of scale, position and pose
    /// count.
    | TrueCameraFrame

/// Options of the gradient ICP. UNICORN: 100 iterations of Adam at lr 0.01, anisotropic scale.
and IcpOptions =
    { Iterations: int
      LearningRate: float
      /// Three scales when true, one shared scale when false.
      AnisotropicScale: bool }

    static member Defaults = { Iterations = 100; LearningRate = 0.01; AnisotropicScale = true }

/// What the ICP found.
type IcpResult =
    { /// The best transform seen, taking the source onto the target.
      Transform: Transform
      /// Its loss: mean squared NN distance source→target plus target→source (Chamfer-L2
      /// unscaled) in the clouds' units.
      Loss: float
      /// The loss at the identity (before any step).
      InitialLoss: float
      /// Index of the parameter state kept: 0 = the identity, k = after k Adam steps.
      BestIteration: int
      /// The loss of each evaluated state, Iterations + 1 values.
      Losses: float[] }

module Transform =

    let identity =
        { Rotation = [| 1.0; 0.0; 0.0; 0.0; 1.0; 0.0; 0.0; 0.0; 1.0 |]
          Scale = [| 1.0; 1.0; 1.0 |]
          Translation = [| 0.0; 0.0; 0.0 |] }

    let private check (t: Transform) =
        if isNull t.Rotation || t.Rotation.Length <> 9 || isNull t.Scale || t.Scale.Length <> 3 || isNull t.Translation || t.Translation.Length <> 3 then
            invalidArg "transform" "Transform: needs 9 rotation, 3 scale and 3 translation values"

    /// The linear part M = R · diag(s), row-major (9 values).
    let linear (t: Transform) =
        check t
        Array.init 9 (fun k -> t.Rotation.[k] * t.Scale.[k % 3])

    /// Applies the transform to interleaved xyz points, computing in float64.
    let applyPoints (t: Transform) (points: float32[]) : float32[] =
        let m = linear t
        let tr = t.Translation
        let out = Array.zeroCreate<float32> points.Length
        for i in 0 .. points.Length / 3 - 1 do
            let x, y, z = float points.[3 * i], float points.[3 * i + 1], float points.[3 * i + 2]
            for r in 0 .. 2 do
                out.[3 * i + r] <- float32 (m.[3 * r] * x + m.[3 * r + 1] * y + m.[3 * r + 2] * z + tr.[r])
        out

    /// Applies the transform to vertices (B, V, 3), keeping their dtype.
    let applyTensor (t: Transform) (vertices: Tensor) =
        Shape.expect "Transform.applyTensor" "vertices" vertices.Shape [ 3 ] [ 3 ]
        Scoped.run (fun () ->
            let m = (Tensor.ofArray (linear t, [ 3; 3 ])).cast vertices.Dtype
            let tr = (Tensor.ofArray t.Translation).cast vertices.Dtype
            vertices.matmul m.mT + tr)

module Alignment =

    /// The prediction's vertices moved into the true object frame: through the predicted pose
    /// into the camera frame, then back through the true pose. vertices: (B, V, 3) in the
    /// predicted object frame -> (B, V, 3) in the true one. Poses have batch B.
    let toTrueObjectFrame (predicted: Pose) (truth: Pose) (vertices: Tensor) =
        Scoped.run (fun () -> Camera.cameraToObject truth (Camera.objectToCamera predicted vertices))

    /// The bounding-box normalisation of a point set (interleaved xyz): centre the box at the
    /// origin and scale uniformly so that the largest |coordinate| is 0.5 (the longest side 1).
    let normalisation (points: float32[]) : Transform =
        if isNull points || points.Length < 3 || points.Length % 3 <> 0 then
            invalidArg "points" "Alignment.normalisation: needs a non-empty cloud of interleaved xyz"
        let lo = Array.create 3 Double.PositiveInfinity
        let hi = Array.create 3 Double.NegativeInfinity
        for i in 0 .. points.Length - 1 do
            let a = i % 3
            let v = float points.[i]
            if not (Double.IsFinite v) then invalidArg "points" (sprintf "Alignment.normalisation: coordinate %d of point %d is %g" a (i / 3) v)
            lo.[a] <- min lo.[a] v
            hi.[a] <- max hi.[a] v
        let extent = Array.init 3 (fun a -> hi.[a] - lo.[a]) |> Array.max
        if not (extent > 0.0) then invalidArg "points" "Alignment.normalisation: all points coincide; the bounding box has no extent"
        let f = 1.0 / extent
        { Transform.identity with
            Scale = [| f; f; f |]
            Translation = Array.init 3 (fun a -> -f * 0.5 * (lo.[a] + hi.[a])) }

    /// The normalisation of a mesh's vertices ((V, 3) or (1, V, 3)).
    let meshNormalisation (vertices: Tensor) = normalisation (Nearest.ofTensor vertices)

    let private meanOf (values: float32[]) =
        let mutable s = 0.0
        for v in values do
            s <- s + float v
        s / float values.Length

    /// Gradient ICP (UNICORN's evaluation): the transform y = R(6D) (s ⊙ x) + t taking `source`
    /// onto `target` (interleaved xyz), starting at the identity. Each iteration finds the
    /// nearest neighbours both ways (as Chamfer does), then takes one Adam step on the mean
    /// squared distances, differentiated with respect to the 6D rotation, the translation and
    /// the log-scale (so the scale stays positive). Every state is scored by that Chamfer-L2
    /// with exact neighbours and the best one is kept, the identity included.
    let icp (options: IcpOptions) (source: float32[]) (target: float32[]) : IcpResult =
        if options.Iterations < 0 then invalidArg "options" (sprintf "Alignment.icp: Iterations must be >= 0, received %d" options.Iterations)
        if not (options.LearningRate > 0.0) then invalidArg "options" (sprintf "Alignment.icp: LearningRate must be positive, received %g" options.LearningRate)
        if isNull source || source.Length < 3 || source.Length % 3 <> 0 then invalidArg "source" "Alignment.icp: source must be a non-empty cloud of interleaved xyz"
        if isNull target || target.Length < 3 || target.Length % 3 <> 0 then invalidArg "target" "Alignment.icp: target must be a non-empty cloud of interleaved xyz"
        use scope = DisposalScope.Open()
        // The ICP differentiates its own parameters, whatever the caller's gradient mode.
        use _ = Autograd.enableGrad ()
        let targetTree = Nearest.build target
        // Target→source neighbours come from one tree over the unmoved source: with
        // M = R diag(s), |M x + t - y|² = Σ_k s_k² (x - u)_k² for u = diag(1/s) Rᵀ (y - t).
        let sourceTree = Nearest.build source
        // Spatial visiting orders, kept by any similarity: each query starts from its
        // predecessor's answer.
        let sourceOrder = Some sourceTree.Order
        let targetOrder = Some targetTree.Order
        let mapped = Array.zeroCreate<float32> target.Length
        let src = Nearest.toTensor source
        let tgt = Nearest.toTensor target
        let r6 = (Tensor.ofArray [| 1.0f; 0.0f; 0.0f; 0.0f; 1.0f; 0.0f |]).RequireGrad()
        let tr = (Tensor.zeros [ 3 ]).RequireGrad()
        let logS = (Tensor.zeros [ (if options.AnisotropicScale then 3 else 1) ]).RequireGrad()
        use optimizer = Optim.adam { Optim.Adam.Defaults with Lr = options.LearningRate } [ "rotation6d", r6; "translation", tr; "log_scale", logS ]
        let losses = Array.zeroCreate<float> (options.Iterations + 1)
        let mutable best = Double.PositiveInfinity
        let mutable bestAt = 0
        let mutable bestTransform = Transform.identity
        for it in 0 .. options.Iterations do
            use _ = DisposalScope.Open()
            let rotation = Rotation.from6d r6
            let scale = logS.exp ()
            let moved = (src * scale).matmul rotation.mT + tr // (N, 3)
            let host = moved.detach().ToFloat32s()
            let forward = Nearest.queryOrdered targetTree sourceOrder host
            let r = rotation.detach().ToFloat64s()
            let s = (let v = scale.detach().ToFloat64s() in if v.Length = 3 then v else Array.create 3 v.[0])
            let t = tr.detach().ToFloat64s()
            for j in 0 .. target.Length / 3 - 1 do
                let y0, y1, y2 = float target.[3 * j] - t.[0], float target.[3 * j + 1] - t.[1], float target.[3 * j + 2] - t.[2]
                for k in 0 .. 2 do
                    mapped.[3 * j + k] <- float32 ((r.[k] * y0 + r.[3 + k] * y1 + r.[6 + k] * y2) / s.[k])
            let backward = Nearest.queryWeighted sourceTree (Array.map (fun v -> float32 (v * v)) s) targetOrder mapped
            let loss = meanOf forward.SquaredDistances + meanOf backward.SquaredDistances
            losses.[it] <- loss
            if loss < best then
                best <- loss
                bestAt <- it
                bestTransform <- { Rotation = r; Scale = s; Translation = t }
            if it < options.Iterations then
                let toIndex (indices: int[]) = Tensor.ofArray (Array.map int64 indices)
                let matchedTarget = tgt.indexSelect (0, toIndex forward.Indices)
                let matchedSource = moved.indexSelect (0, toIndex backward.Indices)
                let objective = ((moved - matchedTarget).square().sum(-1)).mean () + ((tgt - matchedSource).square().sum(-1)).mean ()
                objective.backward ()
                optimizer.Step()
                optimizer.ZeroGrad()
        { Transform = bestTransform; Loss = best; InitialLoss = losses.[0]; BestIteration = bestAt; Losses = losses }
