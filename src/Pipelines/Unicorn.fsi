/// UNICORN (Monnier et al., ECCV 2022): a structured autoencoder that turns one image into a
/// deformed template mesh, a UV texture, a pose among K candidates and a background, trained
/// from images alone by re-rendering them. The model is a record of its stages' parameters;
/// the two alternating steps (`poseLoss`, `shapeLoss`) and `predict` compose the stages. What
/// changes with the iteration (progressive conditioning, frozen heads, the neighbours) comes in
/// as a `Conditioning`, computed by `Curriculum.at`, a pure function of the iteration.
module Reconstruct.Pipelines.Unicorn

open Reconstruct.Torch
open Reconstruct.Torch.Layers
open Reconstruct.Stages

/// Which feature network the perceptual term uses (spec: VGG16 relu3_3, not available here).
[<RequireQualifiedAccess>]
type PerceptualKind =
    /// No perceptual term: plain MSE.
    | Off
    /// The ImageNet ResNet-18 of `Perceptual.load` with these options.
    | ResNet18 of Perceptual.Options

/// The loss weights, UNICORN's in `Weights.Defaults`.
type Weights =
    { Perceptual: float
      NormalConsistency: float
      Laplacian: float
      PosePrior: float
      Neighbours: float
      /// Not in the paper: the pose step's mean reconstruction error over all K candidates,
      /// unweighted by their probabilities, added with this weight (0: the paper's loss).
      EveryCandidate: float }

    /// 10, 0.01, 0.01, 0.02, 1, 0.
    static member Defaults: Weights

/// Architecture and loss configuration. Every field that differs from the paper says so.
type Config =
    { /// Input and render size, pixels (64).
      ImageSize: int
      /// The template ellipsoid's scale: 0.4 synthetic renders, 0.6 photographs.
      TemplateScale: float
      /// ResNet-18 width of the shared encoder (paper: 64; CPU: smaller).
      EncoderWidth: int
      /// Hidden width of every MLP head (128).
      HeadHidden: int
      /// Code sizes (32, 128, 128).
      ShapeCode: int
      TextureCode: int
      BackgroundCode: int
      /// Hidden width of the deformation field (paper 512).
      FieldHidden: int
      /// UV image size (64) and the generators' widest layer.
      TextureSize: int
      GeneratorChannels: int
      /// Learn a background (photographs); false renders over white (multi-view renders).
      Background: bool
      Pose: Pose.Ranges
      /// Blur σ of the layered render (1e-4) and faces kept per pixel (UNICORN: 50 or 25). At σ
      /// 1e-4 outside faces sort in front of the covering one: K = 8 keeps objects opaque (mean
      /// alpha 0.997 over covered pixels; 0.46 at K = 2) and costs what K = 2 does.
      Sigma: float
      FacesPerPixel: int
      Perceptual: PerceptualKind
      /// Whether the pose step's K·B renders also pay for the perceptual term.
      PerceptualInPoseStep: bool
      /// Whether the neighbour swaps (2·B more renders) do; otherwise they use MSE alone.
      PerceptualInSwaps: bool
      Weights: Weights
      /// FIFO memory of the neighbour reconstruction (1024).
      MemorySize: int }

    /// The CPU configuration for synthetic renders (see the experiment baseline for timings).
    static member Defaults: Config

/// The schedule of progressive conditioning, in iterations.
type Curriculum =
    { /// Iterations where stages 2, 3 and 4 start (ascending).
      Milestones: int list
      /// Active code dimensions per stage (4 entries each): shape 0,2,8,32; texture
      /// 2,8,32,128; background 4,8,32,128.
      ShapeDims: int list
      TextureDims: int list
      BackgroundDims: int list
      /// Heads frozen (their outputs detached) before these iterations.
      FreezeTranslationUntil: int
      FreezeShapeUntil: int
      FreezeScaleUntil: int
      /// Stage 1 textures with the constant mean colour; later, this chance per batch (0.2).
      MeanTextureChance: float
      /// Neighbour reconstruction from this iteration on (stage 2).
      NeighboursFrom: int }

/// What the curriculum asks of one iteration.
type Conditioning =
    { Stage: int
      ShapeDims: int
      TextureDims: int
      BackgroundDims: int
      FreezeTranslation: bool
      FreezeShape: bool
      FreezeScale: bool
      /// Stage 1: every texture is its mean colour.
      MeanTextureOnly: bool
      MeanTextureChance: float
      Neighbours: bool }

module Curriculum =
    /// The schedule scaled to `iterations` of training: milestones at 10%, 35% and 60%,
    /// neighbours from 10%, the scale frozen until 2% (a fifth of stage 1), translation and
    /// shape never, as UNICORN's public ShapeNet configurations have it (only
    /// `freeze_scale_predictor`, 18 of the first milestone's 87 epochs). So stage 1 trains the
    /// category's mean shape (the field with every code dimension masked) with the poses:
    /// with no per-image shape freedom, only the pose can explain the views. Freezing the
    /// shape through stage 1 (translation 5%, shape 10%, scale 15%, as the paper's text
    /// reads) left the pose to the rigid ellipsoid; when stage 2 then freed the field and two
    /// code dimensions at once, the codes and scales took up the view (unicorn_chair, first
    /// run: 89% of the chosen azimuths saturated at their range's edge, 34% within 30° over
    /// all 24 views).
    val scaled: iterations: int -> Curriculum

    /// The conditioning of `iteration` (0-based). Fails naming the field when the lists are
    /// malformed (3 ascending milestones, 4 dims each).
    val at: curriculum: Curriculum -> iteration: int -> Conditioning

/// The model: the shared encoder and the heads and generators on its features.
type Model =
    { Config: Config
      Template: Deform.Template
      /// (F, 3, 2) float32 seam-aware UVs of the template's faces.
      FaceUVs: Tensor
      Encoder: Encode.Encoder
      ShapeHead: Mlp
      TextureHead: Mlp
      BackgroundHead: Mlp option
      ScaleHead: Mlp
      Field: Deform.Field
      Texture: Texture.ImageGenerator
      Background: Texture.ImageGenerator option
      Pose: Pose.Candidates
      Memory: Neighbours.Memory
      Perceptual: Perceptual.Network option }

/// A model drawn from `generator`; at start every prediction is the template at scale 1 in
/// the candidates' initial poses. Loads the perceptual network when the config asks for it.
val create: generator: Generator -> config: Config -> Model

/// Trained tensors: "encoder.*", "shape.*", "texture_code.*", "background_code.*", "scale.*",
/// "field.*", "texture.*", "background.*", "pose.*".
val parameters: model: Model -> Named

/// Batch-norm statistics and the neighbour memory ("memory.*").
val buffers: model: Model -> Named

val dispose: model: Model -> unit

/// One image's reconstruction. Tensors (B, ...) float32, no gradient.
type Prediction =
    { /// (B, V, 3) object frame, scale applied: s ⊙ (E + D(E, z)).
      Vertices: Tensor
      /// (B, 3, T, T) UV image in [0, 1].
      Texture: Tensor
      /// (B, 3, H, W); white when the config has no background.
      Background: Tensor
      /// (B, 3) anisotropic scale (already in Vertices).
      Scale: Tensor
      /// The chosen candidate k* = argmax p: (B, 3, 3) and (B, 3), camera from object.
      Rotation: Tensor
      Translation: Tensor
      /// (B) radians of the chosen candidate.
      Azimuth: Tensor
      Elevation: Tensor
      Roll: Tensor
      /// (B, K) candidate probabilities.
      Probabilities: Tensor }

/// Frees a prediction's tensors.
val disposePrediction: prediction: Prediction -> unit

/// images: (B, 3, S, S) float32 RGB in [0, 1] -> the reconstruction (evaluation mode, all code
/// dimensions active).
val predict: model: Model -> images: Tensor -> Prediction

/// The prediction re-rendered hard (2× supersampled) over its background:
/// composite (B, 3, S, S), alpha (B, 1, S, S).
val rerender: model: Model -> prediction: Prediction -> Tensor * Tensor

/// The pose step: meshes, textures and backgrounds detached, all K candidates rendered,
/// loss = mean_b Σ_k p_kb L_kb + w·prior + w_every·mean_bk L_kb. Terms "rec", "every_candidate"
/// (mean_bk L_kb, logged whatever its weight), "prior", "total".
/// images: (B, 3, S, S).
val poseLoss: model: Model -> conditioning: Conditioning -> images: Tensor -> (string * Tensor) list

/// The 3D step: poses detached at k*, reconstruction + regularisers + neighbours; pushes the
/// batch into the neighbour memory. `generator` draws the mean-texture coin and the neighbour
/// bins. Terms "rec", "normal", "laplacian", "shape_swap", "texture_swap", "total".
val shapeLoss: model: Model -> conditioning: Conditioning -> generator: Generator -> images: Tensor -> (string * Tensor) list

/// The faces of the template, (F, 3) int64.
val faces: model: Model -> Tensor
