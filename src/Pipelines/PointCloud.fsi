/// Navaneet et al. (CVPR 2020) as a pipeline: from one image and its silhouette at training
/// time, a shape network predicts a coloured point cloud in a canonical frame and a pose network
/// its viewpoint; the cloud is projected with the fused splat (`PointSplat`) and compared with
/// the image and mask, and two cycles keep both honest: the cloud re-predicted from its own
/// renders at random poses must be the cloud (geometric cycle), and the pose network must
/// recover those poses (pose cycle) (peers.md §D.3). No optimiser, schedule, file or clock.
///
/// The paper trains the two networks with two optimisers on two losses from one forward pass.
/// Here one loss is their sum, with each network's inputs detached in the other's terms: the
/// shape terms see the pose as a constant and the pose terms see the cloud as a constant, so
/// every parameter gets the gradient of its own network's loss only, and one Adam (per
/// parameter) makes the same updates as two.
///
/// The camera is the datasets' (`DatasetRender`: fov 30°, distance 2.732, orbit azimuth about
/// the object's y axis, elevation, no roll), not the paper's DRC camera, so that a true pose of
/// the data can be given to the pose-supervised variant and compared with a prediction. Its
/// focal length at 64 px, 119.4 px, is the paper's 120.
module Reconstruct.Pipelines.PointCloud

open Reconstruct.Torch
open Reconstruct.Torch.Layers
open Reconstruct.Render
open Reconstruct.Stages

/// Weights of the loss terms; a weight of 0 leaves its term out (and its cost).
type Weights =
    { /// shape net: mean over pixels of Σ_c (I − Î)², at the predicted pose (paper: 100)
      Image: float
      /// shape net: the mask's binary cross-entropy (paper: 100)
      Mask: float
      /// shape net: the 2D Chamfer between the projected points and the true silhouette's
      /// pixels, in px² (the paper's affinity loss as the paper describes it, not as coded)
      Silhouette: float
      /// shape net: Σ over random poses of the squared Chamfer between the cloud and the cloud
      /// predicted from its render there (paper: 1e4)
      GeometricCycle: float
      /// pose net: the image term at its pose (paper: 1)
      PoseImage: float
      /// pose net: the mask term at its pose (paper: 1)
      PoseMask: float
      /// pose net: mean |angle error| of its predictions on the renders at random poses,
      /// azimuth wrapped to (−π, π] (paper: 1, unwrapped)
      PoseCycle: float }

    /// The paper's weights with the silhouette term at 1 (see `Silhouette`).
    static member Defaults: Weights

/// The paper's OURS-NN variant (peers.md §D.3), fine-tuned from a model trained with the
/// cycles: each image's cloud, drawn at the pose the pose network gives one of the image's
/// nearest neighbours in that model's shape codes (`Stages.PointCloud.shapeCode`), must cover
/// that neighbour's silhouette. A similar shape seen from elsewhere stands in for a second
/// view of the same object. Shape net terms only: the neighbour's pose is a constant (the
/// pose net learns from its own image's terms).
type NeighbourConsistency =
    { /// mask BCE against the neighbour's silhouette (the paper: the mask weight, 100)
      Mask: float
      /// the 2D Chamfer to the neighbour's silhouette, in px² (as `Weights.Silhouette`)
      Silhouette: float
      /// the experiment draws each image's neighbour from this many nearest training images
      /// (the paper: 5)
      Candidates: int }

/// A search over the pose network's azimuth on the training images (ours, not the paper's).
/// The cloud is drawn, without gradient, at the predicted azimuth turned by k·360°/Candidates
/// (k = 0 … Candidates − 1, the elevation kept); where a turned pose explains the image better
/// (the pose net's image and mask terms, as weighted), the pose net is pulled to it by the mean
/// wrapped |azimuth − that pose| ("pose_search", times Weight). Why: the pose net's image terms
/// only see small moves, and a view taken for its opposite (a front for a back) is a minimum
/// they cannot leave; trained on procedural airplanes, whole ranges of views were predicted
/// half a turn off while the clouds were right. UNICORN's K candidates answer the same
/// failure; here they only teach the pose net, which alone gives the pose at test time.
type PoseSearch =
    { /// poses tried (≥ 2): 2 tries the opposite view, 4 also the quarter turns
      Candidates: int
      Weight: float }

/// Everything that shapes the model and its losses: plain values only.
type Config =
    { /// images are ImageSize² pixels (a multiple of 16)
      ImageSize: int
      /// points per cloud (paper: 1,024)
      Points: int
      /// the camera: horizontal field of view and distance from the object's origin
      FovDegrees: float
      Distance: float
      /// the projection (`PointSplatSettings.Defaults` at ImageSize)
      Splat: PointSplatSettings
      /// random poses per image for the cycles (paper: 3)
      RandomPoses: int
      /// their elevation range, degrees (paper: −20…40); azimuth is uniform over the circle
      ElevationMin: float
      ElevationMax: float
      Weights: Weights
      /// the reference of the paper: the true pose replaces the pose network's, which is then
      /// not trained (no pose terms)
      PoseSupervised: bool
      /// how the pose network gives the azimuth; None (runs written before the field) is the
      /// paper's `Interval`
      PoseAzimuth: PointCloud.AzimuthOutput option
      /// OURS-NN's term; None: without (the paper's CC model)
      Neighbours: NeighbourConsistency option
      /// the search over the pose net's azimuth; None: without (the paper). Self-supervised only.
      PoseSearch: PoseSearch option }

    /// The weights of OURS-NN as the paper's: the shape net's mask and silhouette weights, 5
    /// candidates.
    static member NeighbourDefaults: NeighbourConsistency

    /// 64 px, 1,024 points, the datasets' camera, the paper's projection, 3 random poses,
    /// elevation −20…40°, `Weights.Defaults`, self-supervised, the azimuth on the `Circle`
    /// (the paper: `Interval`).
    static member Defaults: Config

type Model =
    { Config: Config
      Shape: PointCloud.ShapeNet
      Pose: PointCloud.PoseNet }

/// A fresh model; parameters drawn from `generator` (shape net first).
val create: generator: Generator -> config: Config -> Model

/// "shape.…", then "pose.…": unique, in a stable order. The pose net's are included even when
/// PoseSupervised (they get no gradient and stay as initialised).
val parameters: model: Model -> Named

val dispose: model: Model -> unit

/// A training batch: single images with their silhouettes; the true poses only matter to
/// the pose-supervised variant.
type Batch =
    { /// (B, 3, S, S) float32 RGB in [0, 1] over black (the projection's background is 0)
      Images: Tensor
      /// (B, 1, S, S) float32 in {0, 1}
      Masks: Tensor
      /// (B,) radians each, in the datasets' convention
      Azimuth: Tensor
      Elevation: Tensor
      /// OURS-NN: for each image, one of its neighbours (its images, masks and true poses; a
      /// batch without neighbours of its own). Required when the config has `Neighbours`.
      Neighbour: Batch option }

    interface System.IDisposable

/// Points (B, N, 3) in the object frame seen from (azimuth, elevation) (B,) radians -> pixel
/// coordinates (B, N, 2) [x = column, y = row] and view depth (B, N).
val project: config: Config -> azimuth: Tensor -> elevation: Tensor -> points: Tensor -> Tensor * Tensor

/// The projection of a coloured cloud: mask (B, 1, S, S), colour (B, 3, S, S).
val render: config: Config -> azimuth: Tensor -> elevation: Tensor -> xyz: Tensor -> rgb: Tensor -> Tensor * Tensor

/// Binary cross-entropy of a soft mask in [0, 1] against a target in [0, 1], averaged over
/// pixels and images; probabilities clamped to [1e-6, 1 − 1e-6]. (B, 1, H, W) each -> scalar.
val maskBce: predicted: Tensor -> target: Tensor -> Tensor

/// The 2D Chamfer between projected points and a silhouette's foreground pixel centres, in
/// px²: mean over points of the squared distance to the nearest foreground pixel centre, plus
/// the mean over foreground pixels of the squared distance to the nearest point, averaged over
/// the images that have foreground. The nearest neighbours are chosen without gradient, the
/// distances recomputed with it. xy: (B, N, 2) pixels; masks: (B, 1, H, W) in {0, 1} -> scalar.
val silhouetteChamfer: xy: Tensor -> masks: Tensor -> Tensor

/// The squared Chamfer of the paper, per pair of clouds: mean over a of min_b |a − b|² plus mean
/// over b of min_a |a − b|² (neighbours chosen without gradient, distances recomputed with it).
/// a: (B, N, 3), b: (B, M, 3) -> (B,).
val chamferSquared: a: Tensor -> b: Tensor -> Tensor

/// The pose search's choice: for each image, the turn (radians, k·2π/candidates, k in
/// 0 … candidates − 1; the smallest k on ties) of `azimuth` at which the cloud's projection
/// best explains the image: `imageWeight` · mean over pixels of Σ_c (I − Î)² plus `maskWeight`
/// · the mask BCE, per image. Without gradient. xyz, rgb: (B, N, 3); azimuth, elevation: (B,)
/// radians; images (B, 3, S, S); masks (B, 1, S, S) -> (B,).
val bestTurn:
    config: Config ->
    candidates: int ->
    imageWeight: float ->
    maskWeight: float ->
    xyz: Tensor ->
    rgb: Tensor ->
    azimuth: Tensor ->
    elevation: Tensor ->
    images: Tensor ->
    masks: Tensor ->
        Tensor

/// The training terms of one batch, each a scalar: "image", "mask", "silhouette",
/// "geometric_cycle", "neighbour_mask", "neighbour_silhouette" (shape net), "pose_image",
/// "pose_mask", "pose_cycle", "pose_search" (pose net), those
/// with a non-zero weight, and "total", their weighted sum. Random poses come from `generator`.
val losses: model: Model -> generator: Generator -> batch: Batch -> (string * Tensor) list

/// A prediction: the cloud in the canonical frame and the viewpoint.
type Prediction =
    { /// (B, N, 3)
      Xyz: Tensor
      /// (B, N, 3) in (0, 1)
      Rgb: Tensor
      /// (B,) radians each
      Azimuth: Tensor
      Elevation: Tensor }

/// images (B, 3, S, S) -> the prediction, without gradient.
val predict: model: Model -> images: Tensor -> Prediction

/// The prediction's coloured clouds drawn at its own pose and at three quarter turns of azimuth
/// more (+90°, +180°, +270°), for figures: four (B, 3, S, S) colour images over black.
val turntable: config: Config -> prediction: Prediction -> Tensor list
