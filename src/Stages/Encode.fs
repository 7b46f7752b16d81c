module Reconstruct.Stages.Encode

open Reconstruct.Torch
open Reconstruct.Torch.Layers

type SoftRasConvEncoder =
    { Conv1: Conv2d
      Conv2: Conv2d
      Conv3: Conv2d
      Fc1: Linear
      Fc2: Linear
      Fc3: Linear }

[<RequireQualifiedAccess>]
type Kind =
    | SoftRas
    | Residual of ResNetSpec

type Encoder =
    | SoftRasConv of SoftRasConvEncoder
    | ResNet of ResNetEncoder

let private createSoftRasConv (generator: Generator) (inChannels: int) (imageSize: int) =
    if imageSize <= 0 || imageSize % 8 <> 0 then
        invalidArg "imageSize" (sprintf "Encode.create: SoftRas' encoder needs an image size divisible by 8, received %d" imageSize)
    let conv i o = Conv2d.create generator { Conv2d.spec i o 5 with Stride = 2; Padding = 2 }
    let conv1 = conv inChannels 64
    let conv2 = conv 64 128
    let conv3 = conv 128 256
    let cells = imageSize / 8
    let linear i o = Linear.create generator Init.Default i o
    let fc1 = linear (256 * cells * cells) 1024
    let fc2 = linear 1024 1024
    let fc3 = linear 1024 512
    { Conv1 = conv1; Conv2 = conv2; Conv3 = conv3; Fc1 = fc1; Fc2 = fc2; Fc3 = fc3 }

let create (generator: Generator) (kind: Kind) (inChannels: int) (imageSize: int) =
    if inChannels <= 0 then invalidArg "inChannels" (sprintf "Encode.create: inChannels must be positive, received %d" inChannels)
    match kind with
    | Kind.SoftRas -> SoftRasConv(createSoftRasConv generator inChannels imageSize)
    | Kind.Residual spec -> ResNet(ResNet.create generator { spec with InChannels = inChannels })

let private applySoftRasConv (e: SoftRasConvEncoder) (images: Tensor) =
    use scope = DisposalScope.Open()
    let maps = [ e.Conv1; e.Conv2; e.Conv3 ] |> List.fold (fun h conv -> Functional.relu (Conv2d.apply conv h)) images
    let flat = maps.reshape [ maps.Size 0; -1 ]
    let features = [ e.Fc1; e.Fc2; e.Fc3 ] |> List.fold (fun h fc -> Functional.relu (Linear.apply fc h)) flat
    scope.MoveOut features

let private inChannels (encoder: Encoder) =
    match encoder with
    | SoftRasConv e -> e.Conv1.Weight.Size 1
    | ResNet e -> e.StemConv.Weight.Size 1

let apply (training: bool) (encoder: Encoder) (images: Tensor) =
    if images.Dim <> 4 || images.Size 1 <> inChannels encoder then
        invalidArg "images" (sprintf "Encode.apply: images must be (B, %d, H, W), received %s" (inChannels encoder) (Shape.text images.Shape))
    match encoder with
    | SoftRasConv e -> applySoftRasConv e images
    | ResNet e -> ResNet.apply training e images

let featureSize (encoder: Encoder) =
    match encoder with
    | SoftRasConv e -> Linear.outFeatures e.Fc3
    | ResNet e -> e.FeatureDim

let parameters (encoder: Encoder) : Named =
    match encoder with
    | SoftRasConv e ->
        [ yield! Conv2d.parameters e.Conv1 |> Named.prefix "conv1"
          yield! Conv2d.parameters e.Conv2 |> Named.prefix "conv2"
          yield! Conv2d.parameters e.Conv3 |> Named.prefix "conv3"
          yield! Linear.parameters e.Fc1 |> Named.prefix "fc1"
          yield! Linear.parameters e.Fc2 |> Named.prefix "fc2"
          yield! Linear.parameters e.Fc3 |> Named.prefix "fc3" ]
    | ResNet e -> ResNet.parameters e

let buffers (encoder: Encoder) : Named =
    match encoder with
    | SoftRasConv _ -> []
    | ResNet e -> ResNet.buffers e

let head (generator: Generator) (hidden: int) (inFeatures: int) (outFeatures: int) (zeroLast: bool) =
    if hidden <= 0 || inFeatures <= 0 || outFeatures <= 0 then
        invalidArg "hidden" (sprintf "Encode.head: sizes must be positive, received hidden %d, %d -> %d" hidden inFeatures outFeatures)
    let kaiming = Init.KaimingNormal FanMode.FanIn
    Mlp.create
        generator
        { Widths = [ inFeatures; hidden; hidden; hidden; outFeatures ]
          Activation = Activation.ReLU
          Init = kaiming
          LastInit = if zeroLast then Init.Zeros else kaiming }
