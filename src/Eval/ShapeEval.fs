/// Scoring one predicted mesh against its true mesh by UNICORN's protocol: area-weighted
/// surface points, bounding-box normalisation, gradient ICP (or none, in the true camera
/// frame), then Chamfer-L1/L2 and F-scores; and 3D IoU on a 32³ grid by SoftRas' protocol
/// (surface voxelisation and flood fill, in the true object frame, no alignment). Also the two reference rows
/// every report carries: the template ellipsoid in the true pose, and the true mesh with a
/// little noise, scored by the same protocol. A predicted point cloud is scored by the same
/// protocol with its own points as the prediction's sample; it has no 3D IoU.
namespace Reconstruct.Eval

open System
open Reconstruct.Torch
open Reconstruct.Geometry

type ShapeEvalOptions =
    { /// Surface points sampled on each mesh (area-weighted). UNICORN uses 100k; 30k by default.
      Points: int
      Alignment: AlignmentMode
      /// Voxels per axis for 3D IoU.
      VoxelResolution: int
      /// The IoU grid covers [-VoxelBound, VoxelBound]³ of the true object frame (the datasets
      /// normalise shapes into [-0.5, 0.5]³, the grid of SoftRas/SSR; see Voxels).
      VoxelBound: float }

    static member Defaults =
        { Points = 30_000; Alignment = AlignmentMode.Icp IcpOptions.Defaults; VoxelResolution = 32; VoxelBound = 0.5 }

/// The scores of one prediction and how it was placed.
type ShapeResult =
    { Scores: Chamfer.PointScores
      /// 3D IoU (`ShapeEval.iou3d`) of the prediction and the truth as given, in the true
      /// object frame: neither the normalisations nor the ICP below act on it. None for a
      /// point cloud: it bounds no solid to voxelise, and 0 would read as a failed shape.
      VoxelIoU: float option
      /// The normalisation applied to the prediction (its own box under ICP, the truth's in
      /// the true camera frame).
      PredNormalisation: Transform
      /// The normalisation applied to the truth.
      TrueNormalisation: Transform
      /// The ICP, when run; its transform acts after PredNormalisation.
      Icp: IcpResult option }

module ShapeEval =

    /// Maximum points per cloud.
    [<Literal>]
    let MaxPoints = 100_000

    /// IoU of two occupancy grids of the same size (flat); two empty grids give 1.
    let voxelIoU (a: bool[]) (b: bool[]) =
        if a.Length <> b.Length then invalidArg "b" (sprintf "ShapeEval.voxelIoU: grids have %d and %d voxels" a.Length b.Length)
        let mutable inter = 0
        let mutable union = 0
        for k in 0 .. a.Length - 1 do
            if a.[k] && b.[k] then inter <- inter + 1
            if a.[k] || b.[k] then union <- union + 1
        if union = 0 then 1.0 else float inter / float union

    /// IoU of two (n, n, n) bool occupancy tensors (e.g. from Voxels.voxelize).
    let voxelIoUOf (a: Tensor) (b: Tensor) =
        if a.Shape <> b.Shape then invalidArg "b" (sprintf "ShapeEval.voxelIoUOf: grids %A and %A differ in shape" a.Shape b.Shape)
        voxelIoU (a.ToBools()) (b.ToBools())

    /// 3D IoU by SoftRas/SSR's protocol: the solids (`Voxels.solid`: surface voxels and flood
    /// fill, so open and non-watertight meshes count) of `pred` and `truth`, batch-of-one
    /// meshes both in the true object frame, on `resolution`³ voxels over [-bound, bound]³;
    /// no alignment (methods that predict in the object frame are judged there). In [0, 1].
    let iou3d (resolution: int) (bound: float) (pred: Mesh) (truth: Mesh) : float =
        if Mesh.batchSize pred <> 1 || Mesh.batchSize truth <> 1 then
            invalidArg "pred" (sprintf "ShapeEval.iou3d: pred and truth must be batches of one mesh, received %d and %d" (Mesh.batchSize pred) (Mesh.batchSize truth))
        use _ = DisposalScope.Open()
        voxelIoUOf (Voxels.voxelizeSolid resolution -bound bound pred.Vertices pred.Faces) (Voxels.voxelizeSolid resolution -bound bound truth.Vertices truth.Faces)

    let private checkMesh (arg: string) (mesh: Mesh) =
        if Mesh.batchSize mesh <> 1 then invalidArg arg (sprintf "ShapeEval: %s must be a batch of one mesh, received %d" arg (Mesh.batchSize mesh))

    let private sample (generator: Generator) (count: int) (vertices: Tensor) (faces: Tensor) =
        use _ = DisposalScope.Open()
        Nearest.ofTensor (Sampling.surfacePoints generator count vertices faces).Points

    let private checkOptions (fn: string) (options: ShapeEvalOptions) =
        if options.Points <= 0 || options.Points > MaxPoints then
            invalidArg "options" (sprintf "%s: Points must be in 1..%d, received %d" fn MaxPoints options.Points)
        if options.VoxelResolution <= 0 then invalidArg "options" (sprintf "%s: VoxelResolution must be positive, received %d" fn options.VoxelResolution)
        if not (options.VoxelBound > 0.0) then invalidArg "options" (sprintf "%s: VoxelBound must be positive, received %g" fn options.VoxelBound)

    /// The protocol from the normalisations on, shared by meshes and clouds so both sit on one
    /// table. predBox: (N, 3) interleaved, the points whose bounding box normalises the
    /// prediction under ICP; predSample: its points (interleaved xyz) once normalised, drawn
    /// after the truth's. Call inside a disposal scope, without gradients.
    let private score (generator: Generator) (options: ShapeEvalOptions) (predBox: float32[]) (predSample: Transform -> float32[]) (truth: Mesh) =
        let trueNorm = Alignment.meshNormalisation truth.Vertices
        let predNorm =
            match options.Alignment with
            | AlignmentMode.Icp _ -> Alignment.normalisation predBox
            | AlignmentMode.TrueCameraFrame -> trueNorm
        let trueVerts = Transform.applyTensor trueNorm truth.Vertices
        let truePoints = sample generator options.Points trueVerts truth.Faces
        let predPoints = predSample predNorm
        let icp =
            match options.Alignment with
            | AlignmentMode.Icp o -> Some(Alignment.icp o predPoints truePoints)
            | AlignmentMode.TrueCameraFrame -> None
        let aligned =
            match icp with
            | Some r -> Transform.applyPoints r.Transform predPoints
            | None -> predPoints
        { Scores = Chamfer.compare aligned truePoints; VoxelIoU = None; PredNormalisation = predNorm; TrueNormalisation = trueNorm; Icp = icp }

    /// Scores `pred` against `truth`, both batch-of-one meshes in the TRUE object frame (see
    /// Alignment.toTrueObjectFrame). Draws the truth's points first, then the prediction's,
    /// from `generator`.
    let evaluate (generator: Generator) (options: ShapeEvalOptions) (pred: Mesh) (truth: Mesh) : ShapeResult =
        checkMesh "pred" pred
        checkMesh "truth" truth
        checkOptions "ShapeEval.evaluate" options
        use _ = DisposalScope.Open()
        use _ = Autograd.noGrad ()
        let predSample norm = sample generator options.Points (Transform.applyTensor norm pred.Vertices) pred.Faces
        let result = score generator options (Nearest.ofTensor pred.Vertices) predSample truth
        { result with VoxelIoU = Some(iou3d options.VoxelResolution options.VoxelBound pred truth) }

    /// Scores a predicted point cloud against `truth` (a batch-of-one mesh), both in the TRUE
    /// object frame, by `evaluate`'s protocol with the cloud's points standing in for the
    /// prediction's surface sample: no 3D IoU (None). pred: (N, 3) interleaved xyz, N >= 1,
    /// finite. A cloud of more than `options.Points` points is thinned to a random subset of
    /// that many (drawn from `generator` after the truth's points), so it is never denser than
    /// a mesh's sample, which would favour it in the truth-to-prediction distances; a smaller
    /// cloud is used whole (points cannot be invented). Its bounding box is that of all points.
    let evaluateCloud (generator: Generator) (options: ShapeEvalOptions) (pred: float32[]) (truth: Mesh) : ShapeResult =
        if isNull pred || pred.Length < 3 || pred.Length % 3 <> 0 then
            invalidArg "pred" (sprintf "ShapeEval.evaluateCloud: the cloud must be non-empty interleaved xyz, received %d values" (if isNull pred then 0 else pred.Length))
        match pred |> Array.tryFindIndex (Single.IsFinite >> not) with
        | Some k -> invalidArg "pred" (sprintf "ShapeEval.evaluateCloud: coordinate %d of point %d is %g" (k % 3) (k / 3) pred.[k])
        | None -> ()
        checkMesh "truth" truth
        checkOptions "ShapeEval.evaluateCloud" options
        use _ = DisposalScope.Open()
        use _ = Autograd.noGrad ()
        let n = pred.Length / 3
        let thinned () =
            if n <= options.Points then pred
            else
                let keep = (Tensor.randperm (n, generator)).narrow(0, 0, options.Points).ToInt64s()
                Array.init (3 * options.Points) (fun k -> pred.[3 * int keep.[k / 3] + k % 3])
        score generator options pred (fun norm -> Transform.applyPoints norm (thinned ())) truth

    /// The prediction in its own object frame, moved into the true one through the predicted
    /// and true poses (batch of one each), then scored.
    let evaluatePosed (generator: Generator) (options: ShapeEvalOptions) (pred: Mesh, predPose: Pose) (truth: Mesh, truePose: Pose) =
        use scope = DisposalScope.Open()
        let moved = { pred with Vertices = Alignment.toTrueObjectFrame predPose truePose pred.Vertices }
        evaluate generator options moved truth

    /// Reference row: the template (e.g. Template.unicorn 0.4) placed in the true pose, i.e.
    /// given as the prediction in the true object frame: what a method scores that learned
    /// the pose but no shape.
    let templateReference (generator: Generator) (options: ShapeEvalOptions) (template: Mesh) (truth: Mesh) =
        evaluate generator options template truth

    /// The mesh of the noisy-truth reference: `truth` (batch of one) with Gaussian noise of
    /// standard deviation `sigma` in normalised units on every vertex coordinate, in the
    /// truth's object frame; its vertices are a new tensor of the current disposal scope.
    /// Draws the noise from `generator` (what `noisyTruthReference` draws first).
    let noisyTruth (generator: Generator) (sigma: float) (truth: Mesh) : Mesh =
        checkMesh "truth" truth
        if not (sigma >= 0.0) then invalidArg "sigma" (sprintf "ShapeEval.noisyTruth: sigma must be >= 0, received %g" sigma)
        use scope = DisposalScope.Open()
        let norm = Alignment.meshNormalisation truth.Vertices
        let noise = Tensor.randn (truth.Vertices.Shape, generator, truth.Vertices.Dtype) * (sigma / norm.Scale.[0])
        { truth with Vertices = scope.MoveOut(truth.Vertices + noise) }

    /// Reference row: the true mesh with Gaussian noise of standard deviation `sigma` (in
    /// normalised units, where the true shape spans [-0.5, 0.5]) on every vertex coordinate:
    /// roughly the best score a near-perfect reconstruction gets under this protocol.
    let noisyTruthReference (generator: Generator) (options: ShapeEvalOptions) (sigma: float) (truth: Mesh) =
        use _ = DisposalScope.Open()
        evaluate generator options (noisyTruth generator sigma truth) truth

    /// The default noise of the noisy-truth reference: 0.5% of the object size.
    [<Literal>]
    let ReferenceNoise = 0.005

    /// The scores as (name, value) pairs, the columns of reports; a metric the prediction
    /// cannot have (iou_3d of a cloud) is absent, which reports show as missing.
    let metrics (r: ShapeResult) =
        [ "chamfer_l1", r.Scores.ChamferL1
          "chamfer_l2", r.Scores.ChamferL2
          "fscore_1pct", r.Scores.FScore1.F
          "fscore_2pct", r.Scores.FScore2.F
          match r.VoxelIoU with
          | Some iou -> "iou_3d", iou
          | None -> () ]
