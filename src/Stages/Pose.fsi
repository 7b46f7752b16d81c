/// UNICORN's pose branch: K candidate cameras per image, each from its own rotation and
/// translation heads, and one head giving their probabilities. Angles are radians; a
/// candidate's camera is the dataset's orbit camera (`Camera.orbit`) moved by its translation.
module Reconstruct.Stages.Pose

open Reconstruct.Torch
open Reconstruct.Torch.Layers

/// Where the candidates start and how far their heads may move them: candidate k has
///   azimuth   = AzimuthInits[k] + AzimuthRange · tanh(r_k0)
///   elevation = ElevationInit + ElevationRange · tanh(r_k1)
///   roll      = RollRange · tanh(r_k2)
///   T         = (0, 0, Distance) + TranslationRange ⊙ tanh(t_k)
/// with r_k, t_k its heads' outputs.
type Ranges =
    { /// K, the number of candidates (6 in UNICORN).
      Candidates: int
      /// K initial azimuths, radians (0, 60, ..., 300 degrees).
      AzimuthInits: float[]
      /// Half-width, radians: 0.52·360/K degrees (±31.2° for K = 6, a small overlap).
      AzimuthRange: float
      ElevationInit: float
      ElevationRange: float
      RollRange: float
      /// Half-widths of the translation in the camera's x, y, z (object units).
      TranslationRange: float * float * float
      /// Camera distance, 2.732 (≈ 1 + √3, the dataset renders' value).
      Distance: float }

    /// UNICORN on the ShapeNet renders (our multi-view protocol): 6 azimuths, elevation fixed
    /// at 30°, no roll, translation ±0.2 in x and y.
    static member Synthetic: Ranges

    /// UNICORN on photographs (its p3d_car config, our in-the-wild protocol): elevation
    /// 10° ± 20.8° (the range −10…30° times 0.52), roll ±31.2°, translation ±0.3 on each axis.
    static member Photos: Ranges

/// `Ranges.Synthetic` with K evenly spaced azimuths and the matching range 0.52·360/K degrees.
val withCandidates: count: int -> ranges: Ranges -> Ranges

/// The heads (`Encode.head`, `hidden` units): K rotation heads features -> 3 (azimuth,
/// elevation, roll) and K translation heads features -> 3, all with a zero last layer; one
/// probability head features -> K with a Kaiming-normal last layer (not zero, as in UNICORN).
type Candidates =
    { Rotation: Mlp list
      Translation: Mlp list
      Probability: Mlp }

/// The K candidates' camera and probability, for a batch of B images.
type Predicted =
    { /// (B, K) radians.
      Azimuth: Tensor
      /// (B, K) radians.
      Elevation: Tensor
      /// (B, K) radians.
      Roll: Tensor
      /// (B, K, 3, 3) object-to-camera rotation, `Rotation.fromEuler` of the three angles.
      Rotation: Tensor
      /// (B, K, 3) camera-frame translation (X_cam = R X + T).
      Translation: Tensor
      /// (B, K) softmax of the logits; each row sums to 1.
      Probabilities: Tensor
      /// (B, K) the probability head's output.
      Logits: Tensor }

/// Heads for features of `featureSize`, drawn from `generator`.
val create: generator: Generator -> featureSize: int -> hidden: int -> ranges: Ranges -> Candidates

/// features (B, featureSize) float -> the candidates (tensors in the features' dtype).
val apply: candidates: Candidates -> ranges: Ranges -> features: Tensor -> Predicted

/// "rotation.k.layers.*", "translation.k.layers.*", "probability.layers.*" (k = 0 .. K-1), so
/// a pipeline can freeze the translation heads by name prefix.
val parameters: candidates: Candidates -> Named

/// The candidate `index` (B) int64 of each image: rotation (B, 3, 3), translation (B, 3).
val select: predicted: Predicted -> index: Tensor -> Tensor * Tensor

/// Frees every tensor of a prediction.
val dispose: predicted: Predicted -> unit
