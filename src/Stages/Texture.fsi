/// UNICORN's image generator (GIRAFFE's neural renderer, as its public code uses it): an image
/// from a code, read as a 1×1 feature map. Builds the UV texture of the mesh; `Background`
/// uses the same generator for the background image.
module Reconstruct.Stages.Texture

open Reconstruct.Torch
open Reconstruct.Torch.Layers

/// With c(i) = max(MaxChannels / 2^i, 16) and n = log2(OutputSize):
///   x0 = Input(code) (1×1, c(0) channels)       Input: 1×1 conv codeSize -> c(0), or none
///                                                when codeSize = c(0)
///   rgb = up(ToRgb[0](x0))
///   block i = 0 .. n-1: x = ReLU(Blocks[i](nearest×2(x)))     3×3 conv c(i) -> c(i+1)
///                       rgb = rgb + ToRgb[i+1](x)             3×3 conv c(i+1) -> 3
///                       rgb = up(rgb) unless i = n-1
///   image = sigmoid(rgb)
/// with up = bilinear ×2 (half-pixel centres) then the [1,2,1]⊗[1,2,1]/16 blur over a
/// reflected border. No convolution has a bias. (The public code's first block outputs
/// MaxChannels/2 channels even below 16; `create` asks for MaxChannels ≥ 16, and from 32 on the
/// two agree.)
type ImageGenerator =
    { Input: Conv2d option
      Blocks: Conv2d list
      ToRgb: Conv2d list }

/// A generator of outputSize×outputSize images (a power of 2, at least 2) from codes of
/// `codeSize`, starting at `maxChannels` channels. Weights Kaiming-normal (fan in, ReLU gain),
/// as UNICORN's. With a zero code every activation is 0, so the image is 0.5 everywhere.
val create: generator: Generator -> codeSize: int -> outputSize: int -> maxChannels: int -> ImageGenerator

/// codes (B, codeSize) float -> images (B, 3, S, S) in (0, 1), the codes' dtype (the
/// generator's parameters must have it too). In float32 a logit above about 17 rounds to
/// exactly 1.
val apply: generator: ImageGenerator -> codes: Tensor -> Tensor

/// Side of the generated images.
val outputSize: generator: ImageGenerator -> int

/// "input.weight" (when present), "blocks.i.weight", "to_rgb.i.weight".
val parameters: generator: ImageGenerator -> Named

/// The constant texture of each image's mean colour, used by progressive conditioning in
/// place of the generated texture. uvImage (B, 3, H, W) -> (B, 3, H, W) (a new tensor).
val meanColour: uvImage: Tensor -> Tensor
