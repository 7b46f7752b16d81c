/// Unsup3d (Wu, Rupprecht, Vedaldi, CVPR 2020) as a pipeline of the project's stages: each
/// image is read as a canonical depth, albedo, light, viewpoint and confidence; the canonical
/// image (albedo shaded by the light on the depth's normals) and its mirror image (flipped
/// depth and albedo, the same light) are warped into the view and compared with the input
/// (peers.md §A.5). No optimiser, schedule, file or clock: those are the trainer's. Unsup3d's
/// five Adam optimisers with equal settings are one Adam over all parameters here (Adam is
/// per parameter, so the updates are the same).
///
/// Images are in [−1, 1], the method's convention (the project's loaders give [0, 1]).
module Reconstruct.Pipelines.Unsup3d

open Reconstruct.Torch
open Reconstruct.Torch.Layers
open Reconstruct.Stages

/// Everything that shapes the model and its losses: plain values only (the trainer writes it
/// to config.json).
type Config =
    { /// How the networks' outputs map to depth, light and view.
      Ranges: Unsup3d.Ranges
      /// The model camera's focal length, pixels of the 64² image (integer pixel centres).
      Focal: float
      /// The view depth is rendered this many times finer per side, then pooled (Unsup3d: 2).
      Supersample: int
      /// nf of the depth and albedo encoder-decoders (Unsup3d: 64; a multiple of 16).
      DepthWidth: int
      /// Their bottleneck channels (Unsup3d: 256).
      DepthCode: int
      /// nf of the confidence network (Unsup3d: 64; a multiple of 16).
      ConfidenceWidth: int
      /// Its bottleneck channels (Unsup3d: 128).
      ConfidenceCode: int
      /// nf of the light and view encoders (Unsup3d: 32).
      EncoderWidth: int
      /// λ_f, the weight of the mirrored reconstruction's terms.
      FlipWeight: float
      /// λ_p, the weight of the perceptual terms (0: no perceptual network is used).
      PerceptualWeight: float
      /// λ_sm, the weight of the canonical depth's smoothness (Unsup3d's synthetic cars: 0.1).
      SmoothnessWeight: float
      /// The losses are the confidence-weighted negative log-likelihoods; false: plain
      /// masked means, and no confidence network is trained.
      Confidence: bool
      /// Ablations (Unsup3d Table 3): false keeps the albedo (depth) unflipped in the
      /// mirrored branch, or (Lighting) makes the canonical image the albedo itself.
      AlbedoFlip: bool
      DepthFlip: bool
      Lighting: bool }

    /// Unsup3d's synthetic-face recipe: Ranges.Faces, Unsup3d's 10° camera, supersample 2, nf 64
    /// / 256, 64 / 128, 32; λ_f 0.5, λ_p 1, λ_sm 0; confidence, both flips and lighting on.
    static member Defaults: Config

/// The model: its configuration and the five networks' parameters.
type Model =
    { Config: Config
      Depth: Unsup3d.EDDeconv
      Albedo: Unsup3d.EDDeconv
      Light: Unsup3d.Encoder
      View: Unsup3d.Encoder
      Confidence: Unsup3d.ConfNet }

/// A fresh model; parameters drawn from `generator` in the order depth, albedo, light, view,
/// confidence, then the depth network's output convolution set to zero, so that the canonical
/// depth starts as a plane (its draws are still made: the other networks' do not move).
val create: generator: Generator -> config: Config -> Model

/// "depth.…", "albedo.…", "light.…", "view.…", "confidence.…" (the confidence network's only
/// when `Config.Confidence`): the trained tensors, unique names, a stable order.
val parameters: model: Model -> Named

/// Frees the model's parameters.
val dispose: model: Model -> unit

/// What the networks read in a batch of B images of side S = 64.
type Factors =
    { /// (B, S, S) the canonical depth, Ranges' units, borders at BorderDepth.
      Depth: Tensor
      /// (B, 3, S, S) in [−1, 1].
      Albedo: Tensor
      Light: Unsup3d.Light
      View: Unsup3d.View
      /// (B, 3, S, S) in [−1, 1]: the albedo shaded by the light (the albedo without Lighting).
      CanonicalImage: Tensor }

/// The training forward pass.
type Forward =
    { Factors: Factors
      /// (2B, 3, S, S): the reconstructions from the canonical image, then from its mirror,
      /// zero outside `Mask`.
      Reconstruction: Tensor
      /// (2B, S, S): the view depth of both branches.
      ViewDepth: Tensor
      /// (B, S, S) float 0/1: pixels both branches cover (no gradient).
      Mask: Tensor
      /// The confidence maps (None without `Config.Confidence`).
      Confidence: Unsup3d.Confidence option }

/// The warp's camera and depth window for `config`: its focal length and supersampling, the
/// rendered depth clamped half the depth range beyond [MinDepth, MaxDepth] on either side, the
/// far end counting as background (Unsup3d's margin).
val warpSettings: config: Config -> Unsup3dWarp.Settings

/// Every factor and both reconstructions of `images` (B, 3, 64, 64) float32 in [−1, 1].
val forward: model: Model -> images: Tensor -> Forward

/// The training losses, each a scalar differentiable in the parameters: "photometric",
/// "photometric_flip", "perceptual" and "perceptual_flip" (present when λ_p > 0, which needs
/// `perceptual`), "smoothness" (when λ_sm > 0), "mask" (the share of pixels both branches
/// cover, a constant: the run's health) and "total" = photometric + λ_f·photometric_flip +
/// λ_p·(perceptual + λ_f·perceptual_flip) + λ_sm·smoothness. images (B, 3, 64, 64) float32 in
/// [−1, 1].
val losses: model: Model -> perceptual: Perceptual.Network option -> images: Tensor -> (string * Tensor) list

/// What evaluation reads of each image, without gradients: the view depth (B, S, S) of the
/// canonical branch, its mask (B, S, S) float 0/1, and the factors.
type Prediction =
    { ViewDepth: Tensor
      Mask: Tensor
      Factors: Factors }

/// `images` (B, 3, 64, 64) float32 in [−1, 1] read by the model under `Autograd.noGrad`.
val predict: model: Model -> images: Tensor -> Prediction
