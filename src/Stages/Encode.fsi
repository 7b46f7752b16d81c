/// Image encoders: an image batch to one feature vector per image.
module Reconstruct.Stages.Encode

open Reconstruct.Torch
open Reconstruct.Torch.Layers

/// SoftRas' image encoder as SSR trains it (no batch normalisation): three 5×5 convolutions
/// stride 2 padding 2 (Cin → 64 → 128 → 256, ReLU; the image shrinks 8×), then
/// FC 256·(S/8)² → 1024 → 1024 → 512, every layer followed by ReLU.
type SoftRasConvEncoder =
    { Conv1: Conv2d
      Conv2: Conv2d
      Conv3: Conv2d
      Fc1: Linear
      Fc2: Linear
      Fc3: Linear }

/// Which encoder `create` builds.
[<RequireQualifiedAccess>]
type Kind =
    /// SoftRas' convolutional encoder (512-d features).
    | SoftRas
    /// `Layers.ResNet` built from this spec (its InChannels is replaced by `create`'s), globally
    /// average-pooled: Width·2^(Stages−1) features (512 for ResNet-18 at width 64).
    | Residual of ResNetSpec

/// An encoder with its parameters.
type Encoder =
    | SoftRasConv of SoftRasConvEncoder
    | ResNet of ResNetEncoder

/// An encoder of `kind` for images (B, inChannels, imageSize, imageSize). SoftRas' encoder
/// needs imageSize divisible by 8 (its FC input is 256·(imageSize/8)²). Parameters are drawn
/// from `generator` with PyTorch's default initialisation (the SoftRas code's) or the spec's.
val create: generator: Generator -> kind: Kind -> inChannels: int -> imageSize: int -> Encoder

/// images: (B, Cin, S, S) float32 -> (B, featureSize) float32. `training` matters to batch
/// normalisation only (ResNet with NormKind.Batch updates its running statistics).
val apply: training: bool -> encoder: Encoder -> images: Tensor -> Tensor

/// Length of the feature vector.
val featureSize: encoder: Encoder -> int

/// "conv1.weight", …, "fc3.bias" (SoftRasConv) or ResNet.parameters' names.
val parameters: encoder: Encoder -> Named

/// Running statistics of batch normalisation (none for SoftRasConv).
val buffers: encoder: Encoder -> Named

/// UNICORN's regression head: Linear(in, hidden)-ReLU-[Linear(hidden, hidden)-ReLU]×2-
/// Linear(hidden, out), weights Kaiming-normal (fan in, ReLU gain), biases zero; with
/// `zeroLast` the last layer's weight and bias are zero, so the head outputs exactly 0 until
/// trained (every UNICORN head but the pose probabilities). features (*, in) -> (*, out).
val head: generator: Generator -> hidden: int -> inFeatures: int -> outFeatures: int -> zeroLast: bool -> Mlp
