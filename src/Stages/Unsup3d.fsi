/// Unsup3d's stages (Wu, Rupprecht, Vedaldi, CVPR 2020): the networks that read one image as
/// a canonical depth, albedo, light, viewpoint and confidence, and the pure geometry between
/// them: depth to camera points, normals, Lambertian shading, the viewpoint's rigid motion.
///
/// Two conventions differ from the rest of the project, because the method is defined with
/// them (peers.md §A): images are in [−1, 1], not [0, 1]; and the camera has its pixel centres
/// at integer coordinates, u = column index, v = row index (Unsup3d's K, which its warp pairs
/// with `grid_sample(align_corners = true)`), not at j + 0.5. Camera frame as the project's:
/// x right, y down, z forward.
module Reconstruct.Stages.Unsup3d

open Reconstruct.Torch
open Reconstruct.Torch.Layers

// ---------------------------------------------------------------------- networks

/// The side of the images every network takes (their down paths reach 1×1 from 64).
[<Literal>]
val ImageSize: int = 64

/// A convolution then, when present, group normalisation.
type ConvNorm = { Conv: Conv2d; Norm: GroupNorm option }

/// A transposed convolution then, when present, group normalisation.
type DeconvNorm = { Deconv: ConvTranspose2d; Norm: GroupNorm option }

/// The light and view encoder: four 4×4 convolutions stride 2 padding 1, 3 → nf → 2nf → 4nf →
/// 8nf, each followed by ReLU (64 → 4 px); a 4×4 convolution 8nf → 8nf, ReLU (4 → 1 px); a 1×1
/// convolution 8nf → cout; tanh. No biases.
type Encoder =
    { Down: Conv2d list
      Bottleneck: Conv2d
      Out: Conv2d }

/// The down path EDDeconv and ConfNet share: four 4×4 convolutions stride 2 padding 1,
/// 3 → nf → 2nf → 4nf → 8nf, with GN(16), GN(32), GN(64) after the first three and none after
/// the fourth, each followed by LReLU(0.2) (64 → 4 px); then a 4×4 convolution 8nf → zdim,
/// ReLU (4 → 1 px). No biases.
type DownPath = { Blocks: ConvNorm list; ToCode: Conv2d }

/// One step of EDDeconv's up path: transposed convolution, its GN, ReLU, 3×3 convolution
/// padding 1, its GN, ReLU.
type UpBlock = { Deconv: DeconvNorm; Conv: ConvNorm }

/// The depth and albedo network (encoder-decoder):
///   DownPath to zdim at 1×1;
///   up.0: ConvT 4×4 stride 1 → 8nf (1 → 4 px), ReLU, Conv 3×3 8nf → 8nf, ReLU (no GN);
///   up.1..3: ConvT 4×4 stride 2 padding 1 to 4nf, 2nf, nf (4 → 8 → 16 → 32 px), each ConvT and
///            Conv 3×3 with GN(64), GN(32), GN(16) respectively at nf 64;
///   nearest ×2 (32 → 64 px); refine: Conv 3×3 nf → nf GN(16) ReLU, Conv 5×5 nf → nf GN(16)
///   ReLU; out: Conv 5×5 padding 2 nf → cout; then `Activation`. No biases.
type EDDeconv =
    { Down: DownPath
      Up: UpBlock list
      Refine: ConvNorm list
      Out: Conv2d
      /// Unsup3d: Identity for depth (cout 1), Tanh for albedo (cout 3).
      Activation: Activation }

/// The confidence network. As in Unsup3d's public `networks.py`: DownPath to zdim at 1×1;
/// up: ConvT 4×4 stride 1 zdim → 8nf, ReLU (4 px); ConvT 4×4 s2 p1 → 4nf GN(64) ReLU (8 px);
/// ConvT → 2nf GN(32) ReLU (16 px). Photometric head: ConvT → nf GN(16) ReLU (32 px), ConvT
/// nf → nf GN(16) ReLU (64 px), Conv 5×5 padding 2 → 2, softplus. Perceptual head, on the
/// 16 px features: Conv 3×3 padding 1 2nf → 2, softplus. No biases.
type ConfNet =
    { Down: DownPath
      Up: DeconvNorm list
      Photometric: DeconvNorm list
      PhotometricOut: Conv2d
      PerceptualOut: Conv2d }

/// The two confidence maps of a batch; each channel pair is (σ, σ′): σ for the reconstruction
/// from the canonical view, σ′ for the one from its flip. Softplus outputs, so σ > 0 (in
/// float32 a very negative pre-activation can round to 0).
type Confidence =
    { /// (B, 2, 64, 64), the Laplacian scales of the photometric loss.
      Photometric: Tensor
      /// (B, 2, 16, 16), the Gaussian scales of the perceptual loss (VGG relu3_3 resolution).
      Perceptual: Tensor }

/// Parameters are drawn from the generator in layer order with PyTorch's default
/// initialisation (Init.Default; group normalisation starts at weight 1, bias 0).
module Encoder =
    /// Unsup3d: cout 4 for light, 6 for view; nf 32.
    val create: generator: Generator -> cout: int -> nf: int -> Encoder

    /// images (B, 3, 64, 64) float32 in [−1, 1] -> (B, cout) in [−1, 1].
    val apply: encoder: Encoder -> images: Tensor -> Tensor

    /// "down.i.weight" (i = 0..3), "bottleneck.weight", "out.weight".
    val parameters: encoder: Encoder -> Named

module EDDeconv =
    /// Unsup3d: cout 1 (depth, Activation.Identity) or 3 (albedo, Activation.Tanh); zdim 256;
    /// nf 64. nf must be a multiple of 16. Every GN normalises groups of 4 channels, as Unsup3d's
    /// do at nf 64 (the GN counts above): a narrower network has fewer groups, not fewer channels
    /// per group.
    val create: generator: Generator -> cout: int -> zdim: int -> nf: int -> activation: Activation -> EDDeconv

    /// images (B, 3, 64, 64) float32 in [−1, 1] -> (B, cout, 64, 64).
    val apply: network: EDDeconv -> images: Tensor -> Tensor

    /// "down.i.weight", "down.i.norm.weight", "down.i.norm.bias" (i = 0..3, no norm at 3),
    /// "to_code.weight", "up.i.deconv.weight", "up.i.deconv.norm.*", "up.i.conv.weight",
    /// "up.i.conv.norm.*" (i = 0..3, no norms at 0), "refine.i.weight", "refine.i.norm.*"
    /// (i = 0, 1), "out.weight".
    val parameters: network: EDDeconv -> Named

module ConfNet =
    /// Unsup3d: zdim 128, nf 64. nf must be a multiple of 16.
    val create: generator: Generator -> zdim: int -> nf: int -> ConfNet

    /// images (B, 3, 64, 64) float32 in [−1, 1] -> both confidence maps.
    val apply: network: ConfNet -> images: Tensor -> Confidence

    /// The down path's names as EDDeconv's, then "up.i.weight", "up.i.norm.*" (i = 0..2, no
    /// norm at 0), "photometric.i.weight", "photometric.i.norm.*" (i = 0, 1),
    /// "photometric_out.weight", "perceptual_out.weight".
    val parameters: network: ConfNet -> Named

// ---------------------------------------------------------------------- output mappings

/// How the networks' tanh outputs map to depth, light and view (Unsup3d's config keys in
/// brackets).
type Ranges =
    { /// Depth of tanh = −1 [min_depth].
      MinDepth: float
      /// Depth of tanh = +1 [max_depth].
      MaxDepth: float
      /// The depth the 2 leftmost and 2 rightmost columns are set to [border_depth].
      BorderDepth: float
      /// Lower bound of the diffuse coefficient k_d; its upper bound is 1 [min_diff_light].
      MinDiffuse: float
      /// Largest rotation about each axis, radians [xyz_rotation_range, degrees there]. The
      /// roll is needed even for a camera that stays upright: in this Rz·Ry·Rx order the view
      /// of an orbit camera, Rx(elevation)·Ry(azimuth), has roll
      /// atan2(sin el·sin az, cos az), 41° at azimuth 60°, elevation 30°.
      RotationRange: float
      /// Largest translation along x and y [xy_translation_range].
      XYTranslationRange: float
      /// Largest translation along z [z_translation_range].
      ZTranslationRange: float
      /// The viewpoint rotates about (0, 0, RotationCentreDepth) [rot_center_depth].
      RotationCentreDepth: float }

    /// CelebA and synface: depth [0.9, 1.1], border 0.7·1.1 + 0.3·0.9 = 1.04, k_d in [0, 1],
    /// rotations ±60°, tx, ty ±0.1, tz 0, centre depth 1.
    static member Faces: Ranges

    /// Cat faces: as Faces with tz ±0.1.
    static member Cats: Ranges

    /// Synthetic cars: as Faces with border depth 1.08 and k_d in [0.5, 1].
    static member SynCar: Ranges

/// The light of each image: k_a + k_d·max(0, n·ℓ).
type Light =
    { /// (B) k_a in [0, 1].
      Ambient: Tensor
      /// (B) k_d in [MinDiffuse, 1].
      Diffuse: Tensor
      /// (B, 3) unit ℓ = (l_x, l_y, 1)/‖·‖, camera frame (z > 0).
      Direction: Tensor }

/// The viewpoint of each image: the canonical points move by P′ = (P − c)Rᵀ + c + t.
type View =
    { /// (B, 3) radians about x, y, z; R = Rz·Ry·Rx.
      Angles: Tensor
      /// (B, 3) t, camera units.
      Translation: Tensor }

/// The canonical depth: d = tanh(raw − mean_HW raw), mapped from [−1, 1] to
/// [MinDepth, MaxDepth], then columns 0, 1, W−2, W−1 set to exactly BorderDepth (with zero
/// gradient there; differentiable everywhere else). raw (B, 1, H, W), W ≥ 5 -> (B, H, W), raw's
/// dtype.
val depth: ranges: Ranges -> raw: Tensor -> Tensor

/// The light encoder's 4 outputs (B, 4) in [−1, 1] -> k_a = (1 + x0)/2,
/// k_d = MinDiffuse + (1 − MinDiffuse)(1 + x1)/2, ℓ = (x2, x3, 1)/‖(x2, x3, 1)‖.
val light: ranges: Ranges -> raw: Tensor -> Light

/// The view encoder's 6 outputs (B, 6) in [−1, 1] -> angles x0..x2 · RotationRange,
/// t = (x3·XY, x4·XY, x5·Z) with XY, Z the translation ranges.
val view: ranges: Ranges -> raw: Tensor -> View

/// Mirrors along the last dimension (the width of (B, H, W) depth and (B, C, H, W) images):
/// out[..., j] = x[..., W − 1 − j]. An involution. x: any shape, at least 1-D -> x's shape.
val flip: x: Tensor -> Tensor

// ---------------------------------------------------------------------- geometry and shading

/// Unsup3d's field of view, degrees, between the centres of the outer pixels (its `fov`
/// setting; the project's symmetric renders have their own, so the focal length is a
/// parameter below).
[<Literal>]
val FovDegrees: float = 10.0

/// f = ((S − 1)/2) / tan(fovDegrees/2), pixels, for a field of view measured between the
/// centres of the outer pixels (≈ 360.1 at S = 64 and Unsup3d's 10°).
val focalLength: fovDegrees: float -> size: int -> float

/// The intrinsics K = [[f, 0, c], [0, f, c], [0, 0, 1]], c = (S − 1)/2, f = focal pixels:
/// (3, 3) float64.
val intrinsics: focal: float -> size: int -> Tensor

/// P(u, v) = d(v, u)·K⁻¹[u, v, 1]ᵀ with u the column and v the row index, K of `focal` pixels.
/// depth (B, S, S) float -> points (B, S, S, 3), camera frame, depth's dtype.
val depthToPoints: focal: float -> depth: Tensor -> Tensor

/// n = normalise((P[:, 1:-1, 2:] − P[:, 1:-1, :-2]) × (P[:, 2:, 1:-1] − P[:, :-2, 1:-1]))
/// at interior pixels, exactly (0, 0, 1) on the one-pixel border. Normals point away from the
/// camera (+z on a fronto-parallel plane), so n·ℓ > 0 where the surface is lit. Unit length:
/// the division is by max(|n|, 1e-12), not Unsup3d's |n| + 1e-7, which at 64 px shortens
/// every normal by about 0.3% (the cross product is only ≈ (2d/f)² ≈ 3e-5 long).
/// points (B, H, W, 3), H, W ≥ 3 -> (B, H, W, 3), unit length.
val normals: points: Tensor -> Tensor

/// Ĩ = ((a/2 + 0.5)·(k_a + k_d·max(0, n·ℓ)))·2 − 1. albedo (B, 3, H, W) in [−1, 1];
/// normals (B, H, W, 3) -> (B, 3, H, W), albedo's dtype.
val shade: albedo: Tensor -> normals: Tensor -> light: Light -> Tensor

/// R = Rz(z)·Ry(y)·Rx(x) of right-handed axis rotations. angles (B, 3) radians -> (B, 3, 3).
val rotation: angles: Tensor -> Tensor

/// The angles (about x, y, z, radians, for `rotation`) of the view that turns the frontal view
/// of an object (azimuth 0, elevation 0) into that of an upright camera orbiting it at
/// (azimuth, elevation), radians: R = Rx(elevation)·Ry(azimuth) in the camera frame (x right,
/// y down, z forward), the datasets' `Camera.orbit` convention. Its roll is
/// atan2(sin el·sin az, cos az): the Rz·Ry·Rx order needs one even for an upright camera.
/// What a view encoder should find, up to the canonical pitch (symmetry does not fix it).
val orbitAngles: azimuth: float -> elevation: float -> float * float * float

/// P′ = (P − c)Rᵀ + c + t with c = (0, 0, centreDepth), R = `rotation view.Angles`.
/// points (B, ..., 3) -> the same shape.
val transformPoints: centreDepth: float -> view: View -> points: Tensor -> Tensor

/// The inverse of `transformPoints`: P = (P′ − t − c)R + c. points (B, ..., 3) -> the same shape.
val inverseTransformPoints: centreDepth: float -> view: View -> points: Tensor -> Tensor
