module Reconstruct.Stages.Perceptual

open System
open System.IO
open Reconstruct.Torch
open Reconstruct.Torch.Layers

[<RequireQualifiedAccess>]
type Layer =
    | Conv1
    | Layer1
    | Layer2
    | Layer3
    | Layer4
    | Pooled

type FoldedConv = { Conv: Conv2d; Pads: int * int * int * int }

type Block =
    { Conv1: FoldedConv
      Conv2: FoldedConv
      Shortcut: FoldedConv option }

type Network =
    { Path: string
      Stem: FoldedConv
      Pool: int * int * (int * int * int * int)
      Stages: Block list list
      MeanImage: Tensor
      ChannelMean: Tensor }

type Options =
    { Layers: Layer list
      Resize: int option }

    static member Defaults = { Layers = [ Layer.Conv1; Layer.Layer1; Layer.Layer2 ]; Resize = None }

/// The ImageNet mean image's size: where the full mean image applies.
let private meanSize = 224

// ---------------------------------------------------------------------- reading the graph

let private structureError (path: string) (problem: string) =
    raise (InvalidDataException(sprintf "Perceptual.load: %s: %s" path problem))

let private square (path: string) (node: Onnx.Node) (name: string) (values: int64 list) =
    match values with
    | [ a; b ] when a = b -> int a
    | _ -> structureError path (sprintf "node %s (%s) has %s %A; only equal values on both axes are supported" node.Name node.OpType name values)

let private pads (path: string) (node: Onnx.Node) =
    match Onnx.intsAttribute "pads" [ 0L; 0L; 0L; 0L ] node |> List.map int with
    | [ top; left; bottom; right ] -> top, left, bottom, right
    | other -> structureError path (sprintf "node %s (%s) has pads %A; 4 values expected" node.Name node.OpType other)

/// conv followed by batch normalisation as one convolution with a bias, computed in float64:
/// w·s and (b − mean)·s + beta, s = gamma / sqrt(var + eps). `transform` rewrites the float64
/// weight first (the stem's channel swap and ×255).
let private fold (model: Onnx.Model) (conv: Onnx.Node) (bn: Onnx.Node) (transform: Tensor -> Tensor) : FoldedConv =
    let path = model.Path
    let weight64 name = (Onnx.initializer model name).cast Float64
    let kernel = square path conv "kernel_shape" (Onnx.intsAttribute "kernel_shape" [] conv)
    let stride = square path conv "strides" (Onnx.intsAttribute "strides" [ 1L; 1L ] conv)
    let dilation = square path conv "dilations" (Onnx.intsAttribute "dilations" [ 1L; 1L ] conv)
    let groups = int (Onnx.intAttribute "group" 1L conv)
    let w = transform (weight64 conv.Inputs.[1])
    if w.Size 2 <> kernel || w.Size 3 <> kernel then
        structureError path (sprintf "node %s: weight %s does not match kernel_shape %d" conv.Name (Shape.text w.Shape) kernel)
    let bias =
        match conv.Inputs with
        | [ _; _; b ] when b <> "" -> weight64 b
        | _ -> Tensor.zeros ([ w.Size 0 ], Float64)
    match bn.Inputs with
    | [ _; gamma; beta; mean; var ] ->
        let eps = float (Onnx.floatAttribute "epsilon" 1e-5f bn)
        let s = weight64 gamma / (weight64 var + eps).sqrt ()
        let top, left, _, _ as padding = pads path conv
        { Conv =
            { Weight = (w * s.view [ -1; 1; 1; 1 ]).cast Float32
              Bias = Some(((bias - weight64 mean) * s + weight64 beta).cast Float32)
              Options = { Stride = stride; Padding = min top left; Dilation = dilation; Groups = groups } }
          Pads = padding }
    | _ -> structureError path (sprintf "node %s: BatchNormalization needs 5 inputs, has %d" bn.Name bn.Inputs.Length)

/// Stem, max pool, blocks, following the data flow from the graph input: each convolution of a
/// block feeds a BatchNormalization, which feeds a Relu (the main branch) or the Add (a projected
/// shortcut); the Add's other input is the block input when the shortcut is the identity.
let private build (model: Onnx.Model) =
    let path = model.Path
    let consumers name = model.Nodes |> List.filter (fun n -> List.contains name n.Inputs)
    let output (n: Onnx.Node) =
        match n.Outputs with
        | [ o ] -> o
        | _ -> structureError path (sprintf "node %s (%s) has %d outputs, 1 expected" n.Name n.OpType n.Outputs.Length)
    let next (op: string) (name: string) =
        match consumers name with
        | [ n ] when n.OpType = op -> n
        | found -> structureError path (sprintf "expected one %s reading %s, found [%s]" op name (found |> List.map (fun n -> n.OpType) |> String.concat ", "))
    let weights = model.Initializers |> List.map fst |> Set.ofList
    let input =
        match model.Inputs |> List.filter (fun i -> not (weights.Contains i)) with
        | [ i ] -> i
        | other -> structureError path (sprintf "expected one image input, found %A" other)
    let stemConv = next "Conv" input
    let stemBn = next "BatchNormalization" (output stemConv)
    let stemRelu = next "Relu" (output stemBn)
    let pool = next "MaxPool" (output stemRelu)
    let stem =
        // The network reads BGR·255; ours is RGB: reverse the input channels and scale.
        fold model stemConv stemBn (fun w -> w.flip [ 1 ] * 255.0)
    let poolSpec =
        square path pool "kernel_shape" (Onnx.intsAttribute "kernel_shape" [] pool),
        square path pool "strides" (Onnx.intsAttribute "strides" [ 1L; 1L ] pool),
        pads path pool
    let rec blocks (x: string) (acc: Block list) =
        let readers = consumers x
        if readers |> List.exists (fun n -> n.OpType = "AveragePool" || n.OpType = "GlobalAveragePool") then List.rev acc
        else
            let branches =
                readers
                |> List.filter (fun n -> n.OpType = "Conv")
                |> List.map (fun conv ->
                    let bn = next "BatchNormalization" (output conv)
                    match consumers (output bn) with
                    | [ after ] -> conv, bn, after
                    | _ -> structureError path (sprintf "node %s is read by several nodes" bn.Name))
            let main = branches |> List.filter (fun (_, _, n) -> n.OpType = "Relu")
            let projections = branches |> List.filter (fun (_, _, n) -> n.OpType = "Add")
            match main with
            | [ conv1, bn1, relu1 ] ->
                let conv2 = next "Conv" (output relu1)
                let bn2 = next "BatchNormalization" (output conv2)
                let add = next "Add" (output bn2)
                let shortcut =
                    match projections with
                    | [ conv, bn, a ] when a.Outputs = add.Outputs -> Some(fold model conv bn id)
                    | [] when List.contains x add.Inputs -> None
                    | _ -> structureError path (sprintf "the block after %s has no recognisable shortcut" x)
                let relu = next "Relu" (output add)
                let block = { Conv1 = fold model conv1 bn1 id; Conv2 = fold model conv2 bn2 id; Shortcut = shortcut }
                blocks (output relu) (block :: acc)
            | _ -> structureError path (sprintf "expected one residual branch reading %s, found %d" x main.Length)
    // A projected shortcut starts a stage (the resolution or width changes there).
    let stages =
        blocks (output pool) []
        |> List.fold
            (fun stages block ->
                match stages with
                | current :: rest when block.Shortcut.IsNone -> (block :: current) :: rest
                | _ -> [ block ] :: stages)
            []
        |> List.rev
        |> List.map List.rev
    if stages.Length <> 4 then
        structureError path (sprintf "expected 4 stages of residual blocks, found %d" stages.Length)
    stem, poolSpec, stages

/// The mean image in the network's BGR order, from ResNetPreprocess.onnx: its graph splits the
/// input into R, G, B, concatenates B, G, R and subtracts one initializer.
let private bgrMean (prep: Onnx.Model) =
    let byOp op = prep.Nodes |> List.filter (fun n -> n.OpType = op)
    match byOp "Split", byOp "Concat", byOp "Sub" with
    | [ split ], [ concat ], [ sub ] when concat.Inputs = List.rev split.Outputs && sub.Inputs.Length = 2 ->
        Onnx.initializer prep sub.Inputs.[1]
    | _ -> structureError prep.Path "expected Split -> Concat (channels reversed) -> Sub of a mean image"

let private tensors (network: Network) =
    let conv (c: FoldedConv) = c.Conv.Weight :: Option.toList c.Conv.Bias
    [ yield! conv network.Stem
      for stage in network.Stages do
          for b in stage do
              yield! conv b.Conv1
              yield! conv b.Conv2
              yield! b.Shortcut |> Option.map conv |> Option.defaultValue []
      yield network.MeanImage
      yield network.ChannelMean ]

let dispose (network: Network) =
    for t in tensors network do
        (t :> IDisposable).Dispose()

let load (path: string) : Network =
    let prepPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath path), "..", "ResNetPrepOnnx", "ResNetPreprocess.onnx") |> Path.GetFullPath
    use _ = Autograd.noGrad ()
    use scope = DisposalScope.Open()
    let model = Onnx.read path
    let prep = Onnx.read prepPath
    let stem, pool, stages = build model
    let mean = bgrMean prep
    if mean.Shape <> [| 1; 3; meanSize; meanSize |] then
        structureError prepPath (sprintf "the mean image is %s, expected (1, 3, %d, %d)" (Shape.text mean.Shape) meanSize meanSize)
    let meanImage = mean.flip [ 1 ] / 255.0
    let network =
        { Path = path
          Stem = stem
          Pool = pool
          Stages = stages
          MeanImage = meanImage
          ChannelMean = meanImage.mean ([| 2; 3 |], true) }
    for t in tensors network do
        scope.MoveOut t |> ignore
    network

let defaultPath () =
    let assembly = Reflection.Assembly.GetExecutingAssembly().Location
    let dir = if String.IsNullOrEmpty assembly then AppContext.BaseDirectory else Path.GetDirectoryName assembly
    let path = Path.Combine(dir, "DnnImageModels", "ResNet18Onnx", "ResNet18.onnx")
    if not (File.Exists path) then
        raise (
            FileNotFoundException(
                sprintf "Perceptual.defaultPath: %s is missing; it comes from the NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18 0.24.0, which Reconstruct.Core.fsproj downloads at restore and copies beside the assembly (rebuild)" path,
                path))
    path

let cast (dtype: Dtype) (network: Network) : Network =
    use _ = Autograd.noGrad ()
    let conv (c: FoldedConv) =
        { c with Conv = { c.Conv with Weight = c.Conv.Weight.cast dtype; Bias = c.Conv.Bias |> Option.map (fun b -> b.cast dtype) } }
    { network with
        Stem = conv network.Stem
        Stages =
            network.Stages
            |> List.map (List.map (fun b -> { Conv1 = conv b.Conv1; Conv2 = conv b.Conv2; Shortcut = Option.map conv b.Shortcut }))
        MeanImage = network.MeanImage.cast dtype
        ChannelMean = network.ChannelMean.cast dtype }

// ---------------------------------------------------------------------- forward

let private outputSize (size: int) (before: int) (after: int) (kernel: int) (stride: int) = (size + before + after - kernel) / stride + 1

/// A windowed operation under ONNX's (top, left, bottom, right) padding. When the symmetric
/// padding `top` gives as many windows as the asymmetric one, the windows are the same (the
/// extra cells are never read), so the operation pads itself; otherwise the input is padded
/// with `fill` explicitly first.
let private windowed (top, left, bottom, right) (kernel: int) (stride: int) (fill: float) (run: int -> Tensor -> Tensor) (x: Tensor) =
    let h, w = x.Size 2, x.Size 3
    if top = left
       && outputSize h top top kernel stride = outputSize h top bottom kernel stride
       && outputSize w left left kernel stride = outputSize w left right kernel stride then
        run top x
    else
        use scope = DisposalScope.Open()
        scope.MoveOut(run 0 (Functional.pad (PadMode.Constant fill) [ left; right; top; bottom ] x))

let private conv (c: FoldedConv) (x: Tensor) =
    let kernel = c.Conv.Weight.Size 2
    windowed c.Pads kernel c.Conv.Options.Stride 0.0
        (fun padding x -> Functional.conv2d { c.Conv.Options with Padding = padding } c.Conv.Weight c.Conv.Bias x) x

let private block (b: Block) (x: Tensor) =
    use scope = DisposalScope.Open()
    let h = x |> conv b.Conv1 |> Functional.relu |> conv b.Conv2
    let identity = match b.Shortcut with Some s -> conv s x | None -> x
    scope.MoveOut(Functional.relu (h + identity))

let private depth =
    function
    | Layer.Conv1 -> 0
    | Layer.Layer1 -> 1
    | Layer.Layer2 -> 2
    | Layer.Layer3 -> 3
    | Layer.Layer4 -> 4
    | Layer.Pooled -> 5

let features (network: Network) (layers: Layer list) (images: Tensor) : Tensor list =
    if images.Dim <> 4 || images.Size 1 <> 3 then
        invalidArg "images" (sprintf "Perceptual.features: images must be (B, 3, H, W) RGB, received %s" (Shape.text images.Shape))
    if images.Dtype <> network.MeanImage.Dtype then
        invalidArg "images" (sprintf "Perceptual.features: images are %A, the network is %A (see Perceptual.cast)" images.Dtype network.MeanImage.Dtype)
    if List.isEmpty layers then invalidArg "layers" "Perceptual.features: no layer asked"
    let deepest = layers |> List.map depth |> List.max
    use scope = DisposalScope.Open()
    let mean = if images.Size 2 = meanSize && images.Size 3 = meanSize then network.MeanImage else network.ChannelMean
    let taken = Array.zeroCreate<Tensor> 6
    taken.[0] <- (images - mean) |> conv network.Stem |> Functional.relu
    if deepest >= 1 then
        let kernel, stride, pads = network.Pool
        let mutable x = windowed pads kernel stride Double.NegativeInfinity (fun p x -> Functional.maxPool2d kernel stride p x) taken.[0]
        for s, stage in List.indexed network.Stages do
            if s < deepest then
                x <- stage |> List.fold (fun h b -> block b h) x
                taken.[s + 1] <- x
        if deepest = 5 then taken.[5] <- taken.[4].mean ([| 2; 3 |], true)
    layers |> List.map (fun l -> scope.MoveOut taken.[depth l])

let private normalise (f: Tensor) = f * (f.square().sum (1, true) + 1e-10).rsqrt ()

let distance (network: Network) (options: Options) (predicted: Tensor) (target: Tensor) : Tensor =
    if predicted.Shape <> target.Shape then
        invalidArg "target" (sprintf "Perceptual.distance: predicted %s and target %s differ in shape" (Shape.text predicted.Shape) (Shape.text target.Shape))
    if List.isEmpty options.Layers then invalidArg "options" "Perceptual.distance: Options.Layers is empty"
    use scope = DisposalScope.Open()
    let resize (x: Tensor) =
        match options.Resize with
        | Some size when size <> x.Size 2 || size <> x.Size 3 ->
            Functional.interpolate Interpolation.Bilinear false (Resize.Size(size, size)) x
        | _ -> x
    let ofPredicted = features network options.Layers (resize predicted)
    let ofTarget =
        use _ = Autograd.noGrad ()
        features network options.Layers (resize target)
    let perLayer =
        List.map2 (fun (p: Tensor) (t: Tensor) -> (normalise p - normalise t).square().mean ([| 1; 2; 3 |])) ofPredicted ofTarget
    scope.MoveOut(List.reduce (+) perLayer / float perLayer.Length)
