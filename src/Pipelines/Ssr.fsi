/// SSR (Laradji et al. 2021, peers.md §B.4): SoftRas trained on a few objects whose viewpoints
/// are known plus many whose viewpoints are not. A Siamese viewpoint network (`SiamVP`) learns
/// "same viewpoint?" from the labelled objects' view ids; every `PseudoEvery` iterations, while
/// its batch accuracy is high, it matches unlabelled images against the views of labelled
/// object 0 and keeps confident matches as pseudo-labels per (object, view); unlabelled objects
/// with two pseudo-labelled views then join SoftRas' multi-view IoU loss with the cameras of
/// their pseudo-labels. No optimiser, schedule, file or clock: those are the trainer's.
module Reconstruct.Pipelines.Ssr

open Reconstruct.Torch
open Reconstruct.Torch.Layers
open Reconstruct.Stages

/// Plain values only (the trainer writes it to config.json).
type Config =
    { SoftRas: SoftRas.Config
      /// SiamVP's width (`SiamVP.create`; SSR: 64).
      SiamWidth: int
      /// Unlabelled objects in each mesh batch once pseudo-labels exist; the batch's first
      /// B − PseudoBatch labelled objects fill the rest (SSR: 32 of 64).
      PseudoBatch: int
      /// Random pairs drawn per side of SiamVP's pair loss (SSR: 32).
      PairSamples: int
      /// A second SiamVP update per iteration on the labelled images rotated in-plane by a random
      /// angle (SSR's augment_loss).
      RotationAugment: bool
      /// Pseudo-labelling every this many iterations (SSR: 400 of 200k).
      PseudoEvery: int
      /// … when SiamVP's accuracy (`gateAccuracy`) is above this (SSR: 0.99).
      PseudoAccuracy: float
      /// The accuracy is measured on this many labelled images drawn from
      /// `References.Labelled` (SSR's labelled batch: 64; its 2,016 pairs hold about 84 of the
      /// same view), or, with 0, on the iteration's labelled views (16 images at batch 16: about
      /// 5 pairs of the same view, so one miss is 10% and 0.99 is rarely reached).
      GateImages: int
      /// A match is kept when its probability is above this (SSR: 0.8).
      PseudoThreshold: float
      /// … and the 45°-rotated image matches the same reference view among the rotated
      /// references (SSR's augment_pred).
      RotatedAgreement: bool
      /// Unlabelled objects matched per round, taken in turn, all views each (SSR: every object
      /// every round; 0 = every object).
      PseudoObjectsPerRound: int }

    /// SSR's recipe with SoftRas' defaults: SiamWidth 64, PseudoBatch 8 (half of batch 16, as
    /// SSR's 32 of 64),
    /// 32 pair samples, both rotations, every 400 iterations above 0.99, threshold 0.8, every
    /// object each round.
    static member Defaults: Config

/// The model: SoftRas' stages, the viewpoint network, and the pseudo-labels.
type Model =
    { Config: Config
      SoftRas: SoftRas.Model
      Siam: SiamVP.Network
      /// (U, V) int64: the pseudo-labelled view id of unlabelled object u's image v, −1 where
      /// none was accepted. A buffer: checkpointed and restored with the run.
      PseudoLabels: Tensor }

/// A fresh model for `unlabelled` objects of `views` views each; SoftRas' parameters drawn
/// first from `generator` (as `SoftRas.create`), then SiamVP's.
val create: generator: Generator -> config: Config -> unlabelled: int -> views: int -> Model

/// SoftRas' parameters under their own names ("encoder.…", "decoder.…"), then "siamvp.…".
val parameters: model: Model -> Named

/// SoftRas' buffers and "pseudo_labels".
val buffers: model: Model -> Named

val dispose: model: Model -> unit

/// The labelled part of an iteration: two views of B labelled objects with their cameras and
/// view ids.
type Labelled =
    { Pairs: SoftRas.Batch
      ViewIdsA: int[]
      ViewIdsB: int[] }

/// The unlabelled objects: images only. There is no camera here by construction; pseudo-labels
/// give the cameras.
type Unlabelled =
    { Count: int
      Views: int
      /// `Images objects views`: (B, 4, S, S) float32 RGBA of (objects.[k], views.[k]), a new
      /// tensor of the current disposal scope.
      Images: int[] -> int[] -> Tensor }

/// The views pseudo-labels name (labelled object 0 seen from each of the V view ids), and the
/// labelled images SiamVP's accuracy is checked on before a round.
type References =
    { /// (V, 4, S, S) float32 RGBA
      Images: Tensor
      /// the camera of each view id: azimuth, elevation (radians), distance
      Cameras: (float * float * float)[]
      /// (P, 4, S, S) float32 RGBA: every view of every labelled object
      Labelled: Tensor
      /// the view id of each of those P images
      LabelledViewIds: int[] }

/// One pseudo-labelling round over `objects` (unlabelled numbers): every view of each is
/// matched against the references' views; matches above the threshold (and agreeing when
/// rotated 45°, with `RotatedAgreement`) are written into `PseudoLabels`, replacing an earlier
/// label of that image. Returns the number of labels written. Runs without gradients.
val labelRound: model: Model -> references: References -> unlabelled: Unlabelled -> objects: int[] -> int

/// The unlabelled objects a round at `iteration` matches: the next PseudoObjectsPerRound in
/// turn (the round at iteration k·PseudoEvery starts at (k − 1)·PseudoObjectsPerRound mod U),
/// or all of them.
val roundObjects: model: Model -> iteration: int -> int[]

/// Up to `count` pseudo-labelled pairs drawn from `rng`: different unlabelled objects among
/// those with at least two pseudo-labelled views (all of them when fewer), and two different
/// views of each: (object, view a, view b, label a, label b). SSR draws the objects with
/// replacement; without it, the first objects to get two labels do not fill the pseudo half of
/// every batch. Empty when no object has two labels.
val pseudoPairs: model: Model -> rng: SplitMix64 -> count: int -> (int * int * int * int * int)[]

/// SiamVP's pair accuracy that gates a labelling round: on `GateImages` images drawn from
/// `references.Labelled` with `rng` (no gradient), or `batchAccuracy` (the iteration's) when
/// GateImages is 0.
val gateAccuracy: model: Model -> rng: SplitMix64 -> references: References -> batchAccuracy: float -> float

/// The share of the U·V unlabelled images with a pseudo-label, and the share of those labels
/// that equal the image's own view id (measured against the truth; for reports, never for
/// training).
val pseudoCoverage: model: Model -> float * float

/// The iteration's loss terms (scalars, created in the caller's scope), one named "total".
/// Phase 0: SiamVP's pair loss on the labelled first views A ("siam", "siam_accuracy"); at
/// iterations k·PseudoEvery (k ≥ 1) with `gateAccuracy` above PseudoAccuracy, a labelling round
/// (`roundObjects`); then SoftRas' losses on up to PseudoBatch pseudo-labelled pairs
/// (`pseudoPairs`) after as many of the batch's first labelled pairs as fill it ("iou", "laplacian", "flatten", "mesh" = their weighted
/// sum, "pseudo_pairs"), or on the labelled batch alone while no object has two labels; total =
/// mesh + siam. Phase 1 (RotationAugment): SiamVP's pair loss on A rotated by a random
/// angle in 0..359° ("siam_rotated", "siam_rotated_accuracy", "total"). `rng`: this step's
/// draws (pairs, rotation).
val losses:
    model: Model ->
    sigma: float ->
    iteration: int ->
    phase: int ->
    rng: SplitMix64 ->
    labelled: Labelled ->
    unlabelled: Unlabelled ->
    references: References ->
        (string * Tensor) list

/// Phases per iteration: 2 with RotationAugment, else 1.
val phases: config: Config -> int
