/// UNICORN's background: the texture generator (`Texture.ImageGenerator`) aimed at the image
/// size, from its own code z_bg.
module Reconstruct.Stages.Background

open Reconstruct.Torch
open Reconstruct.Torch.Layers

/// A generator of imageSize×imageSize backgrounds (a power of 2) from codes of `codeSize`;
/// `Texture.create`'s architecture and initialisation.
val create: generator: Generator -> codeSize: int -> imageSize: int -> maxChannels: int -> Texture.ImageGenerator

/// codes (B, codeSize) -> backgrounds (B, 3, S, S) in (0, 1).
val apply: generator: Texture.ImageGenerator -> codes: Tensor -> Tensor

/// As `Texture.parameters`.
val parameters: generator: Texture.ImageGenerator -> Named
