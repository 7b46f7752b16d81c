module Reconstruct.Stages.Texture

open Reconstruct.Torch
open Reconstruct.Torch.Layers

type ImageGenerator =
    { Input: Conv2d option
      Blocks: Conv2d list
      ToRgb: Conv2d list }

let private minChannels = 16

let private log2Exact (n: int) =
    let k = System.Numerics.BitOperations.Log2(uint32 n)
    if n >= 2 && (1 <<< k) = n then Some k else None

let create (generator: Generator) (codeSize: int) (outputSize: int) (maxChannels: int) =
    if codeSize <= 0 then invalidArg "codeSize" (sprintf "Texture.create: codeSize must be positive, received %d" codeSize)
    if maxChannels < minChannels then
        invalidArg "maxChannels" (sprintf "Texture.create: maxChannels must be at least %d, received %d" minChannels maxChannels)
    let blocks =
        match log2Exact outputSize with
        | Some k -> k
        | None -> invalidArg "outputSize" (sprintf "Texture.create: outputSize must be a power of 2 of at least 2, received %d" outputSize)
    let channels i = max (maxChannels >>> i) minChannels
    let conv i o k =
        Conv2d.create generator { Conv2d.spec i o k with Padding = k / 2; Bias = false; Init = Init.KaimingNormal FanMode.FanIn }
    // Drawn in the public code's order: input, feature convolutions, then the RGB branch.
    let input = if codeSize = channels 0 then None else Some(conv codeSize (channels 0) 1)
    let convs = List.init blocks (fun i -> conv (channels i) (channels (i + 1)) 3)
    let toRgb = List.init (blocks + 1) (fun i -> conv (channels i) 3 3)
    { Input = input; Blocks = convs; ToRgb = toRgb }

let outputSize (generator: ImageGenerator) = 1 <<< generator.Blocks.Length

/// Bilinear ×2 then the normalised [1,2,1] blur, per channel, over a reflected border.
let private upsampleRgb (rgb: Tensor) =
    let b, c, h, w = rgb.Size 0, rgb.Size 1, rgb.Size 2, rgb.Size 3
    let up = Functional.interpolate Interpolation.Bilinear false (Resize.Scale 2.0) rgb
    let taps = Tensor.ofArray ([| 1.0; 2.0; 1.0; 2.0; 4.0; 2.0; 1.0; 2.0; 1.0 |], [ 1; 1; 3; 3 ])
    let kernel = (taps / 16.0).cast rgb.Dtype
    let padded = Functional.pad PadMode.Reflect [ 1; 1; 1; 1 ] (up.reshape [ b * c; 1; 2 * h; 2 * w ])
    (Functional.conv2d Conv2dOptions.Defaults kernel None padded).reshape [ b; c; 2 * h; 2 * w ]

let apply (generator: ImageGenerator) (codes: Tensor) =
    let codeSize =
        match generator.Input with
        | Some conv -> conv.Weight.Size 1
        | None -> generator.Blocks.Head.Weight.Size 1
    if codes.Dim <> 2 || codes.Size 1 <> codeSize then
        invalidArg "codes" (sprintf "Texture.apply: codes must be (B, %d), received %s" codeSize (Shape.text codes.Shape))
    Scoped.run (fun () ->
        let code = codes.reshape [ codes.Size 0; codeSize; 1; 1 ]
        let x0 = match generator.Input with Some conv -> Conv2d.apply conv code | None -> code
        let last = generator.Blocks.Length - 1
        let _, rgb =
            List.zip generator.Blocks generator.ToRgb.Tail
            |> List.indexed
            |> List.fold
                (fun (x, rgb) (i, (block, toRgb)) ->
                    let x = Functional.relu (Conv2d.apply block (Functional.interpolate Interpolation.Nearest false (Resize.Scale 2.0) x))
                    let rgb = rgb + Conv2d.apply toRgb x
                    x, (if i = last then rgb else upsampleRgb rgb))
                (x0, upsampleRgb (Conv2d.apply generator.ToRgb.Head x0))
        rgb.sigmoid ())

let parameters (generator: ImageGenerator) : Named =
    [ match generator.Input with
      | Some conv -> yield! Conv2d.parameters conv |> Named.prefix "input"
      | None -> ()
      for i, conv in List.indexed generator.Blocks do
          yield! Conv2d.parameters conv |> Named.prefix (sprintf "blocks.%d" i)
      for i, conv in List.indexed generator.ToRgb do
          yield! Conv2d.parameters conv |> Named.prefix (sprintf "to_rgb.%d" i) ]

let meanColour (uvImage: Tensor) =
    if uvImage.Dim <> 4 || uvImage.Size 1 <> 3 then
        invalidArg "uvImage" (sprintf "Texture.meanColour: uvImage must be (B, 3, H, W), received %s" (Shape.text uvImage.Shape))
    Scoped.run (fun () -> (uvImage.mean ([| 2; 3 |], keepDim = true)).expand(uvImage.Shape).contiguous ())
