/// A perceptual distance from a real ImageNet-trained network: the ResNet-18 that the NuGet
/// package Microsoft.ML.DnnImageFeaturizer.ResNet18 0.24.0 (MIT) ships as ONNX
/// (DnnImageModels/ResNet18Onnx/ResNet18.onnx, a CNTK export: 9 basic blocks in stages of
/// 2, 2, 2, 3, asymmetric "same" paddings), rebuilt in the project's own layers, frozen.
/// It stands in for UNICORN's VGG16 relu3_3 (no VGG weights can be had here).
///
/// The network expects BGR values in 0..255 minus a mean image (ResNetPreprocess.onnx:
/// 1×3×224×224, per-channel means B 103.06, G 115.90, R 123.15). Our images are RGB in [0, 1];
/// the channel swap and the ×255 are folded into the first convolution's weights, and every
/// batch normalisation into the convolution before it (eval mode, so each conv+BN is one
/// convolution with a bias). At 224×224 the mean image is subtracted; at any other size its
/// per-channel mean.
module Reconstruct.Stages.Perceptual

open Reconstruct.Torch
open Reconstruct.Torch.Layers

/// Where the features are taken (each after its ReLU).
[<RequireQualifiedAccess>]
type Layer =
    /// The stem: 7×7 convolution stride 2 (+BN, ReLU), before the max pool. 64 channels, H/2.
    | Conv1
    /// After stage 1 (64 channels, H/4).
    | Layer1
    /// After stage 2 (128 channels, H/8).
    | Layer2
    /// After stage 3 (256 channels, H/16).
    | Layer3
    /// After stage 4 (512 channels, H/32).
    | Layer4
    /// Stage 4 averaged over all pixels: (B, 512, 1, 1), the ONNX model's output at 224×224.
    | Pooled

/// A convolution with its batch normalisation folded in, and the ONNX padding, which may be
/// asymmetric: (top, left, bottom, right) zeros.
type FoldedConv = { Conv: Conv2d; Pads: int * int * int * int }

/// A basic block: relu(conv2(relu(conv1 x)) + shortcut x), shortcut the identity or a 1×1
/// strided convolution.
type Block =
    { Conv1: FoldedConv
      Conv2: FoldedConv
      Shortcut: FoldedConv option }

/// The frozen network (no tensor requires gradients; gradients flow to the input only).
type Network =
    { /// The ONNX file it was read from.
      Path: string
      /// Takes RGB in [0, 1] minus `Mean`, i.e. the swap and ×255 are in its weights.
      Stem: FoldedConv
      /// Max pool after the stem: kernel, stride, (top, left, bottom, right) padding.
      Pool: int * int * (int * int * int * int)
      /// The four stages of blocks.
      Stages: Block list list
      /// The mean image in RGB / 255: (1, 3, 224, 224), the network's dtype.
      MeanImage: Tensor
      /// Its per-channel mean: (1, 3, 1, 1), the network's dtype.
      ChannelMean: Tensor }

/// What `distance` compares.
type Options =
    { /// The layers compared; the distance averages over them.
      Layers: Layer list
      /// Bilinear resize of both images to Size×Size before the network (None: as given).
      Resize: int option }

    /// Conv1, Layer1, Layer2 at the images' own size. Measured (`reconstruct bench --only
    /// perceptual`, 64² images, fwd+bwd, process CPU on a loaded 2-core machine): 32 images
    /// 0.70 s CPU (≈0.35 s on 2 idle cores), 192 images 2.7 s; Conv1 alone 0.21 / 0.68 s;
    /// upsampling to 128 costs 3–4× more, so it is off.
    static member Defaults: Options

/// Reads the network from `path` (ResNet18.onnx) and the mean image from
/// `../ResNetPrepOnnx/ResNetPreprocess.onnx` beside its folder, both as the package lays
/// them out. Raises `Onnx.OnnxError` naming a file that is missing or unreadable, and
/// `InvalidDataException` when the graph is not the ResNet this expects. float32 tensors,
/// adopted by the caller's disposal scope if one is open (free them with `dispose`).
val load: path: string -> Network

/// DnnImageModels/ResNet18Onnx/ResNet18.onnx beside the Reconstruct.Core assembly, where the
/// build copies it. Raises `System.IO.FileNotFoundException` (one line, naming the path and the
/// package that provides it) when it is not there.
val defaultPath: unit -> string

/// A copy of the network in `dtype` (Float64 for gradient checks); the original is kept.
val cast: dtype: Dtype -> network: Network -> Network

/// Frees the network's tensors.
val dispose: network: Network -> unit

/// The raw (not normalised) features of `images` at `layers`, in the order asked, running the
/// network only as deep as the deepest layer asked. images: (B, 3, H, W) RGB in [0, 1], the
/// network's dtype, H and W at least 32 for Layer4/Pooled. Returns for each layer
/// (B, C, H/s, W/s) as its case says (Pooled: (B, 512, 1, 1)).
val features: network: Network -> layers: Layer list -> images: Tensor -> Tensor list

/// LPIPS-style distance without learned weights: at each layer the features are scaled to unit
/// L2 norm over channels per pixel (f / sqrt(Σ_c f² + 1e-10)), the squared differences are
/// averaged over channels and pixels (UNICORN's public code does so; summing over channels,
/// as LPIPS does, made the term about 100× the pixel MSE at UNICORN's weight 10 and drowned
/// it); the layers are averaged, so each image's distance lies in [0, 4 / C] for the
/// narrowest compared layer's C channels. predicted, target: (B, 3, H, W) RGB in
/// [0, 1], same shape and dtype (the network's). Returns (B) in that dtype, differentiable with
/// respect to `predicted`; `target` is a constant (its features run without a graph).
val distance: network: Network -> options: Options -> predicted: Tensor -> target: Tensor -> Tensor
