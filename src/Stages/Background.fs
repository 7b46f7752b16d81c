module Reconstruct.Stages.Background

open Reconstruct.Torch
open Reconstruct.Torch.Layers

let create (generator: Generator) (codeSize: int) (imageSize: int) (maxChannels: int) =
    Texture.create generator codeSize imageSize maxChannels

let apply (generator: Texture.ImageGenerator) (codes: Tensor) = Texture.apply generator codes

let parameters (generator: Texture.ImageGenerator) : Named = Texture.parameters generator
