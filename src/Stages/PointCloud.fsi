/// The networks of Navaneet et al. (CVPR 2020, peers.md §D.1): from one RGB image, a shape
/// network predicts a coloured cloud of N points in a canonical frame and a pose network its
/// viewpoint (azimuth, elevation). Every layer is PyTorch's default initialisation; the paper's
/// L2 weight decay is the optimiser's.
module Reconstruct.Stages.PointCloud

open Reconstruct.Torch
open Reconstruct.Torch.Layers

/// The shape network: a structure branch (four stride-2 convolutions 32, 64, 128, 256, the last
/// 5×5, the others 3×3; FC 128, 128, 128 -> the code x1; FC 3N, linear -> xyz) and a colour
/// branch (two stride-2 3×3 convolutions 32, 64; FC 128, 128, 128; joined with x1; FC 128;
/// FC 3N, sigmoid -> rgb). ReLU after every hidden layer.
type ShapeNet =
    { StructureConvs: Conv2d list
      StructureFcs: Linear list
      Xyz: Linear
      ColourConvs: Conv2d list
      ColourFcs: Linear list
      Join: Linear
      Rgb: Linear
      Points: int }

/// How the pose network gives the azimuth.
type AzimuthOutput =
    /// The paper's π·tanh of one output: an interval (−π, π). A continuous network cannot map
    /// the circle of views onto an interval without a cut, and the views at the cut (where
    /// tanh saturates) are the ones it gets wrong: trained on procedural chairs, the views
    /// within 45° of it were off by 90-140° on average.
    | Interval
    /// atan2 of two outputs (a direction in the plane): the circle, with no cut.
    | Circle

/// The pose network: the structure branch's four convolutions, FC 128, 128, 128, then FC 2
/// (`Interval`: (azimuth, elevation) through π·tanh) or FC 3 (`Circle`: the azimuth as atan2
/// of the first two, the elevation π·tanh of the third); radians in (−π, π].
type PoseNet =
    { Convs: Conv2d list
      Fcs: Linear list
      Out: Linear
      Azimuth: AzimuthOutput }

/// A shape network for (B, 3, imageSize, imageSize) images, `points` points. imageSize must be a
/// multiple of 16 (four halvings).
val createShape: generator: Generator -> imageSize: int -> points: int -> ShapeNet

/// A pose network for (B, 3, imageSize, imageSize) images.
val createPose: generator: Generator -> imageSize: int -> azimuth: AzimuthOutput -> PoseNet

/// images (B, 3, S, S) float32 in [0, 1] -> xyz (B, N, 3) in the canonical frame, rgb (B, N, 3)
/// in (0, 1).
val applyShape: net: ShapeNet -> images: Tensor -> Tensor * Tensor

/// images (B, 3, S, S) float32 in [0, 1] -> the structure branch's code x1 (B, 128), from which
/// the cloud is one linear layer away: the feature space in which the paper's OURS-NN variant
/// picks each image's neighbours.
val shapeCode: net: ShapeNet -> images: Tensor -> Tensor

/// images (B, 3, S, S) float32 in [0, 1] -> azimuth (B,), elevation (B,), radians in (−π, π].
val applyPose: net: PoseNet -> images: Tensor -> Tensor * Tensor

/// "structure.conv1.weight", …, "rgb.bias": unique, in a stable order.
val shapeParameters: net: ShapeNet -> Named

/// "conv1.weight", …, "out.bias".
val poseParameters: net: PoseNet -> Named
