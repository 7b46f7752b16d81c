/// SoftRas (Liu et al. 2019) as SSR trains it: an image encoder, the logit-space decoder of a
/// 642-vertex sphere, soft silhouettes at the dataset cameras, multi-view IoU + Laplacian +
/// flatten losses (peers.md §B.2–B.3). No optimiser, schedule, file or clock: those are the
/// trainer's.
module Reconstruct.Pipelines.SoftRas

open Reconstruct.Torch
open Reconstruct.Torch.Layers
open Reconstruct.Geometry
open Reconstruct.Stages

/// The image encoder.
type EncoderKind =
    /// SoftRas' three 5×5 convolutions and three FC layers, no batch normalisation (SSR).
    | SoftRasConv
    /// `Layers.ResNet.resnet18` with this first-stage width (64: the published network,
    /// 512-d features), batch normalisation, 4 input channels.
    | ResNet18 of width: int

/// Everything that shapes the model and its losses: plain values only (the trainer writes it
/// to config.json).
type Config =
    { /// input images and silhouettes are ImageSize² pixels
      ImageSize: int
      /// icosphere level of the template (3: 642 vertices, 1280 faces)
      TemplateLevel: int
      Encoder: EncoderKind
      /// σ of the soft rasterizer at the start (the trainer may schedule it)
      Sigma: float
      LaplacianWeight: float
      FlattenWeight: float }

    /// SoftRas' recipe: 64 px, level 3, SoftRasConv, σ 1e-4, Laplacian 5e-3, flatten 5e-4.
    static member Defaults: Config

/// The model: its configuration and the stages' parameters.
type Model =
    { Config: Config
      Template: Deform.Template
      Encoder: Encode.Encoder
      Decoder: Deform.SoftRasDecoder }

/// A fresh model; every parameter drawn from `generator` (encoder first, then decoder).
val create: generator: Generator -> config: Config -> Model

/// "encoder.conv1.weight", …, "decoder.fc_bias.bias": unique, in a stable order.
val parameters: model: Model -> Named

/// "encoder.…running_mean" etc. (empty for SoftRasConv).
val buffers: model: Model -> Named

/// Frees the model's parameters, buffers and template.
val dispose: model: Model -> unit

/// Two views of the same B objects, with their cameras.
type Batch =
    { /// (B, 4, S, S) float32 RGBA in [0, 1]
      ImagesA: Tensor
      /// (B, 4, S, S) float32 RGBA in [0, 1], the same objects seen from ViewB
      ImagesB: Tensor
      ViewA: Render.View
      ViewB: Render.View }

/// images: (B, 4, S, S) float32 RGBA in [0, 1] -> vertices (B, V, 3) float32 in the object
/// frame, inside [−0.5, 0.5]³. Batch normalisation (ResNet18) uses its running statistics.
/// Works under `Autograd.noGrad`.
val predict: model: Model -> images: Tensor -> Tensor

/// SoftRas' training losses on a batch, each a scalar (float32, differentiable in the
/// parameters): "iou", "laplacian", "flatten" and "total" = iou + LaplacianWeight·laplacian +
/// FlattenWeight·flatten. One encoder pass over [A; B] gives meshes Ma, Mb; they are rendered
/// at σ = `sigma` in one call as [Ma, Mb, Ma, Mb] from [va, va, vb, vb] and each compared with
/// the alpha of its view's image (4B silhouettes; iou is their mean). Laplacian and flatten
/// are averaged over the 2B meshes. Batch normalisation (ResNet18) runs in training mode.
val losses: model: Model -> sigma: float -> batch: Batch -> (string * Tensor) list

/// The template's faces (F, 3) int64 (shared by every prediction; not a copy: do not dispose).
val faces: model: Model -> Tensor

/// Predicted vertices (B, V, 3) as a `Mesh` (new tensors: vertices copied, faces cloned), e.g.
/// to write an OBJ with `MeshIO`.
val mesh: model: Model -> vertices: Tensor -> Mesh
