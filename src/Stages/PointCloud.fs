module Reconstruct.Stages.PointCloud

open System
open Reconstruct.Torch
open Reconstruct.Torch.Layers

type ShapeNet =
    { StructureConvs: Conv2d list
      StructureFcs: Linear list
      Xyz: Linear
      ColourConvs: Conv2d list
      ColourFcs: Linear list
      Join: Linear
      Rgb: Linear
      Points: int }

type AzimuthOutput =
    | Interval
    | Circle

type PoseNet =
    { Convs: Conv2d list
      Fcs: Linear list
      Out: Linear
      Azimuth: AzimuthOutput }

let private hidden = 128

/// (channels, kernel) of the structure trunk; "same" padding, stride 2, as the paper's tflearn.
let private structureTrunk = [ 32, 3; 64, 3; 128, 3; 256, 5 ]

let private colourTrunk = [ 32, 3; 64, 3 ]

let private convs (generator: Generator) (trunk: (int * int) list) =
    trunk
    |> List.mapFold (fun cin (cout, k) -> Conv2d.create generator { Conv2d.spec cin cout k with Stride = 2; Padding = k / 2 }, cout) 3
    |> fst

let private fcs (generator: Generator) (inFeatures: int) (count: int) =
    List.init count (fun i -> Linear.create generator Init.Default (if i = 0 then inFeatures else hidden) hidden)

let private flatSize (trunk: (int * int) list) (imageSize: int) =
    let side = imageSize >>> trunk.Length
    fst (List.last trunk) * side * side

let private checkSize (fn: string) (imageSize: int) =
    if imageSize <= 0 || imageSize % 16 <> 0 then
        invalidArg "imageSize" (sprintf "PointCloud.%s: the image size must be a positive multiple of 16, received %d" fn imageSize)

let createShape (generator: Generator) (imageSize: int) (points: int) =
    checkSize "createShape" imageSize
    if points <= 0 then invalidArg "points" (sprintf "PointCloud.createShape: points must be positive, received %d" points)
    let structureConvs = convs generator structureTrunk
    let structureFcs = fcs generator (flatSize structureTrunk imageSize) 3
    let xyz = Linear.create generator Init.Default hidden (3 * points)
    let colourConvs = convs generator colourTrunk
    let colourFcs = fcs generator (flatSize colourTrunk imageSize) 3
    let join = Linear.create generator Init.Default (2 * hidden) hidden
    let rgb = Linear.create generator Init.Default hidden (3 * points)
    { StructureConvs = structureConvs; StructureFcs = structureFcs; Xyz = xyz
      ColourConvs = colourConvs; ColourFcs = colourFcs; Join = join; Rgb = rgb; Points = points }

let createPose (generator: Generator) (imageSize: int) (azimuth: AzimuthOutput) =
    checkSize "createPose" imageSize
    let c = convs generator structureTrunk
    let f = fcs generator (flatSize structureTrunk imageSize) 3
    let outputs = match azimuth with Interval -> 2 | Circle -> 3
    { Convs = c; Fcs = f; Out = Linear.create generator Init.Default hidden outputs; Azimuth = azimuth }

let private trunk (convs: Conv2d list) (fcs: Linear list) (images: Tensor) =
    let maps = convs |> List.fold (fun h conv -> Functional.relu (Conv2d.apply conv h)) images
    fcs |> List.fold (fun h fc -> Functional.relu (Linear.apply fc h)) (maps.reshape [ maps.Size 0; -1 ])

let private checkImages (fn: string) (convs: Conv2d list) (fcs: Linear list) (images: Tensor) =
    let first = List.head fcs
    let expected = Linear.inFeatures first
    let ok =
        images.Dim = 4 && images.Size 1 = 3 && images.Size 2 = images.Size 3
        && (let side = images.Size 2 >>> convs.Length in side > 0 && (convs |> List.last).Weight.Size 0 * side * side = expected)
    if not ok then
        invalidArg "images" (sprintf "PointCloud.%s: images must be (B, 3, S, S) with the network's S, received %s" fn (Shape.text images.Shape))

let shapeCode (net: ShapeNet) (images: Tensor) =
    checkImages "shapeCode" net.StructureConvs net.StructureFcs images
    trunk net.StructureConvs net.StructureFcs images

let applyShape (net: ShapeNet) (images: Tensor) =
    checkImages "applyShape" net.StructureConvs net.StructureFcs images
    use scope = DisposalScope.Open()
    let b = images.Size 0
    let x1 = trunk net.StructureConvs net.StructureFcs images
    let xyz = (Linear.apply net.Xyz x1).reshape [ b; net.Points; 3 ]
    let colour = trunk net.ColourConvs net.ColourFcs images
    let joined = Functional.relu (Linear.apply net.Join (Tensor.cat ([ colour; x1 ], 1)))
    let rgb = (Linear.apply net.Rgb joined).sigmoid().reshape [ b; net.Points; 3 ]
    scope.MoveOut xyz, scope.MoveOut rgb

let applyPose (net: PoseNet) (images: Tensor) =
    checkImages "applyPose" net.Convs net.Fcs images
    use scope = DisposalScope.Open()
    let out = Linear.apply net.Out (trunk net.Convs net.Fcs images)
    match net.Azimuth with
    | Interval ->
        let angles = out.tanh () * Math.PI
        scope.MoveOut(angles.select (1, 0)), scope.MoveOut(angles.select (1, 1))
    | Circle ->
        let azimuth = Tensor.atan2 (out.select (1, 1), out.select (1, 0))
        scope.MoveOut azimuth, scope.MoveOut((out.select (1, 2)).tanh () * Math.PI)

let private layers (prefix: string) (items: Named list) =
    items |> List.mapi (fun i named -> Named.prefix (sprintf "%s%d" prefix (i + 1)) named) |> List.concat

let shapeParameters (net: ShapeNet) : Named =
    [ yield! layers "conv" (net.StructureConvs |> List.map Conv2d.parameters) @ layers "fc" (net.StructureFcs |> List.map Linear.parameters) |> Named.prefix "structure"
      yield! Linear.parameters net.Xyz |> Named.prefix "xyz"
      yield! layers "conv" (net.ColourConvs |> List.map Conv2d.parameters) @ layers "fc" (net.ColourFcs |> List.map Linear.parameters) |> Named.prefix "colour"
      yield! Linear.parameters net.Join |> Named.prefix "join"
      yield! Linear.parameters net.Rgb |> Named.prefix "rgb" ]

let poseParameters (net: PoseNet) : Named =
    [ yield! layers "conv" (net.Convs |> List.map Conv2d.parameters)
      yield! layers "fc" (net.Fcs |> List.map Linear.parameters)
      yield! Linear.parameters net.Out |> Named.prefix "out" ]
