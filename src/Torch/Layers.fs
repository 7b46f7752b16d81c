/// Layers as records of parameter tensors plus pure `apply` functions: no hidden state, no
/// classes. A model is a record of layers; its parameters are an explicit list of named
/// tensors ("encoder.stage1.block0.conv1.weight"), its buffers (running statistics) another,
/// and a checkpoint stores both. Every random initialisation draws from an explicit Generator.
module Reconstruct.Torch.Layers

open System
open Reconstruct.Torch

/// A model's tensors by dotted name, in a stable order (the order of creation).
type Named = (string * Tensor) list

/// Helpers over named tensor lists.
module Named =
    /// Prepends `name.` to every name.
    let prefix (name: string) (items: Named) : Named = items |> List.map (fun (n, t) -> name + "." + n, t)

    /// The number of scalar values in all the tensors.
    let count (items: Named) = items |> List.sumBy (fun (_, t) -> int64 t.Numel)

    /// The names that occur more than once (empty for a well-formed model).
    let duplicates (items: Named) =
        items |> List.countBy fst |> List.filter (fun (_, k) -> k > 1) |> List.map fst

    /// Fails naming the first repeated name.
    let checkUnique (items: Named) =
        match duplicates items with
        | [] -> ()
        | name :: _ -> invalidArg "items" (sprintf "Named.checkUnique: the name %s occurs more than once" name)

    /// Frees every tensor (a model's parameters live outside disposal scopes; this ends them).
    let dispose (items: Named) =
        for _, t in items do
            (t :> IDisposable).Dispose()

// ---------------------------------------------------------------------- initialisation

/// Which fan Kaiming initialisation preserves: the forward (FanIn) or backward (FanOut) variance.
[<RequireQualifiedAccess>]
type FanMode =
    | FanIn
    | FanOut

/// How a linear or convolution layer's weight and bias start.
[<RequireQualifiedAccess>]
type Init =
    /// PyTorch's default: weight by kaiming_uniform with a = sqrt 5, which is
    /// U(-1/sqrt(fanIn), 1/sqrt(fanIn)); bias U(-1/sqrt(fanIn), 1/sqrt(fanIn)).
    | Default
    /// Weight N(0, 2/fan) (He et al., the ReLU gain), bias zero.
    | KaimingNormal of FanMode
    /// Weight and bias zero: a last layer whose output starts at exactly zero.
    | Zeros

/// Initialisers; each returns a leaf tensor that requires gradients (float32).
module Init =
    /// (fanIn, fanOut) of a weight (Out, In, k...): In·prod(k) and Out·prod(k). As in PyTorch, a
    /// transposed convolution's weight (In, Out/groups, k...) is read the same way.
    let fans (shape: int[]) =
        if shape.Length < 2 then
            invalidArg "shape" (sprintf "Init.fans: a weight needs at least 2 dimensions, received %A" shape)
        let receptive = shape.[2..] |> Array.fold (*) 1
        shape.[1] * receptive, shape.[0] * receptive

    let private leaf (make: unit -> Tensor) =
        // Built without recording a graph, so the result is a leaf whatever the caller's mode.
        let t =
            use _ = Autograd.noGrad ()
            make ()
        t.RequireGrad()

    /// U(-bound, bound).
    let uniform (generator: Generator) (bound: float) (shape: int[]) =
        leaf (fun () -> Tensor.uniform (shape, -bound, bound, generator))

    /// N(0, std²).
    let normal (generator: Generator) (std: float) (shape: int[]) =
        leaf (fun () -> Tensor.normal (shape, 0.0, std, generator))

    let zeros (shape: int[]) = leaf (fun () -> Tensor.zeros shape)
    let ones (shape: int[]) = leaf (fun () -> Tensor.ones shape)

    /// Kaiming uniform with negative slope a: U(±gain·sqrt(3/fan)), gain = sqrt(2/(1+a²)).
    let kaimingUniform (generator: Generator) (a: float) (mode: FanMode) (shape: int[]) =
        let fanIn, fanOut = fans shape
        let fan = if mode = FanMode.FanIn then fanIn else fanOut
        uniform generator (sqrt (2.0 / (1.0 + a * a)) * sqrt (3.0 / float fan)) shape

    /// Kaiming normal for ReLU: N(0, 2/fan).
    let kaimingNormal (generator: Generator) (mode: FanMode) (shape: int[]) =
        let fanIn, fanOut = fans shape
        let fan = if mode = FanMode.FanIn then fanIn else fanOut
        normal generator (sqrt (2.0 / float fan)) shape

    /// A weight of `weightShape` and, if `biasSize` is given, a bias of that length, drawn in
    /// that order (PyTorch's), so the same seed gives the same layer.
    let weightAndBias (generator: Generator) (init: Init) (weightShape: int[]) (biasSize: int option) =
        let fanIn, _ = fans weightShape
        match init with
        | Init.Default ->
            let w = kaimingUniform generator (sqrt 5.0) FanMode.FanIn weightShape
            w, biasSize |> Option.map (fun n -> uniform generator (1.0 / sqrt (float fanIn)) [| n |])
        | Init.KaimingNormal mode -> kaimingNormal generator mode weightShape, biasSize |> Option.map (fun n -> zeros [| n |])
        | Init.Zeros -> zeros weightShape, biasSize |> Option.map (fun n -> zeros [| n |])

let private withBias (bias: Tensor option) (items: Named) : Named =
    match bias with
    | Some b -> items @ [ "bias", b ]
    | None -> items

// ---------------------------------------------------------------------- activations

/// An elementwise nonlinearity, chosen by value.
[<RequireQualifiedAccess>]
type Activation =
    | Identity
    | ReLU
    | LeakyReLU of slope: float
    | ELU of alpha: float
    | Softplus of beta: float
    | Sigmoid
    | Tanh

module Activation =
    /// x: any shape. Returns x's shape; Identity returns a new handle on x.
    let apply (activation: Activation) (x: Tensor) =
        match activation with
        | Activation.Identity -> x.view x.Shape
        | Activation.ReLU -> Functional.relu x
        | Activation.LeakyReLU slope -> Functional.leakyRelu slope x
        | Activation.ELU alpha -> Functional.elu alpha x
        | Activation.Softplus beta -> Functional.softplus beta 20.0 x
        | Activation.Sigmoid -> Functional.sigmoid x
        | Activation.Tanh -> Functional.tanh x

// ---------------------------------------------------------------------- linear

/// A fully connected layer. Weight: (Out, In) float32; Bias: (Out) or None.
type Linear = { Weight: Tensor; Bias: Tensor option }

module Linear =
    /// A layer In -> Out with a bias.
    let create (generator: Generator) (init: Init) (inFeatures: int) (outFeatures: int) =
        if inFeatures <= 0 || outFeatures <= 0 then
            invalidArg "inFeatures" (sprintf "Linear.create: sizes must be positive, received %d -> %d" inFeatures outFeatures)
        let w, b = Init.weightAndBias generator init [| outFeatures; inFeatures |] (Some outFeatures)
        { Weight = w; Bias = b }

    /// A layer In -> Out without a bias.
    let createNoBias (generator: Generator) (init: Init) (inFeatures: int) (outFeatures: int) =
        if inFeatures <= 0 || outFeatures <= 0 then
            invalidArg "inFeatures" (sprintf "Linear.createNoBias: sizes must be positive, received %d -> %d" inFeatures outFeatures)
        let w, _ = Init.weightAndBias generator init [| outFeatures; inFeatures |] None
        { Weight = w; Bias = None }

    let inFeatures (layer: Linear) = layer.Weight.Size 1
    let outFeatures (layer: Linear) = layer.Weight.Size 0

    /// x: (*, In). Returns (*, Out).
    let apply (layer: Linear) (x: Tensor) = Functional.linear layer.Weight layer.Bias x

    /// "weight", "bias".
    let parameters (layer: Linear) : Named = withBias layer.Bias [ "weight", layer.Weight ]

// ---------------------------------------------------------------------- convolutions

/// A 2-D convolution. Weight: (Cout, Cin/groups, k, k) float32; Bias: (Cout) or None.
type Conv2d =
    { Weight: Tensor
      Bias: Tensor option
      Options: Conv2dOptions }

/// What `Conv2d.create` builds; start from `Conv2d.spec` and change fields.
type Conv2dSpec =
    { InChannels: int
      OutChannels: int
      Kernel: int
      Stride: int
      Padding: int
      Dilation: int
      Groups: int
      Bias: bool
      Init: Init }

module Conv2d =
    /// in -> out channels with a kernel×kernel kernel, stride 1, no padding, a bias, PyTorch's
    /// default initialisation (nn.Conv2d's defaults).
    let spec (inChannels: int) (outChannels: int) (kernel: int) =
        { InChannels = inChannels
          OutChannels = outChannels
          Kernel = kernel
          Stride = 1
          Padding = 0
          Dilation = 1
          Groups = 1
          Bias = true
          Init = Init.Default }

    let create (generator: Generator) (spec: Conv2dSpec) =
        if spec.InChannels <= 0 || spec.OutChannels <= 0 || spec.Kernel <= 0 || spec.Groups <= 0 then
            invalidArg "spec" (sprintf "Conv2d.create: channels, kernel and groups must be positive, received %A" spec)
        if spec.InChannels % spec.Groups <> 0 || spec.OutChannels % spec.Groups <> 0 then
            invalidArg "spec" (sprintf "Conv2d.create: channels %d -> %d must be divisible by groups %d" spec.InChannels spec.OutChannels spec.Groups)
        let shape = [| spec.OutChannels; spec.InChannels / spec.Groups; spec.Kernel; spec.Kernel |]
        let w, b = Init.weightAndBias generator spec.Init shape (if spec.Bias then Some spec.OutChannels else None)
        { Weight = w
          Bias = b
          Options = ({ Stride = spec.Stride; Padding = spec.Padding; Dilation = spec.Dilation; Groups = spec.Groups }: Conv2dOptions) }

    /// x: (N, Cin, H, W). Returns (N, Cout, Ho, Wo), see `Functional.conv2d`.
    let apply (layer: Conv2d) (x: Tensor) = Functional.conv2d layer.Options layer.Weight layer.Bias x

    let parameters (layer: Conv2d) : Named = withBias layer.Bias [ "weight", layer.Weight ]

/// A transposed 2-D convolution. Weight: (Cin, Cout/groups, k, k) float32; Bias: (Cout) or None.
type ConvTranspose2d =
    { Weight: Tensor
      Bias: Tensor option
      Options: ConvTranspose2dOptions }

type ConvTranspose2dSpec =
    { InChannels: int
      OutChannels: int
      Kernel: int
      Stride: int
      Padding: int
      OutputPadding: int
      Dilation: int
      Groups: int
      Bias: bool
      Init: Init }

module ConvTranspose2d =
    /// nn.ConvTranspose2d's defaults: stride 1, no padding, a bias, PyTorch's initialisation.
    let spec (inChannels: int) (outChannels: int) (kernel: int) : ConvTranspose2dSpec =
        { InChannels = inChannels
          OutChannels = outChannels
          Kernel = kernel
          Stride = 1
          Padding = 0
          OutputPadding = 0
          Dilation = 1
          Groups = 1
          Bias = true
          Init = Init.Default }

    let create (generator: Generator) (spec: ConvTranspose2dSpec) =
        if spec.InChannels <= 0 || spec.OutChannels <= 0 || spec.Kernel <= 0 || spec.Groups <= 0 then
            invalidArg "spec" (sprintf "ConvTranspose2d.create: channels, kernel and groups must be positive, received %A" spec)
        if spec.InChannels % spec.Groups <> 0 || spec.OutChannels % spec.Groups <> 0 then
            invalidArg "spec" (sprintf "ConvTranspose2d.create: channels %d -> %d must be divisible by groups %d" spec.InChannels spec.OutChannels spec.Groups)
        let shape = [| spec.InChannels; spec.OutChannels / spec.Groups; spec.Kernel; spec.Kernel |]
        let w, b = Init.weightAndBias generator spec.Init shape (if spec.Bias then Some spec.OutChannels else None)
        { Weight = w
          Bias = b
          Options =
            ({ Stride = spec.Stride
               Padding = spec.Padding
               OutputPadding = spec.OutputPadding
               Dilation = spec.Dilation
               Groups = spec.Groups }: ConvTranspose2dOptions) }

    /// x: (N, Cin, H, W). Returns (N, Cout, Ho, Wo), see `Functional.convTranspose2d`.
    let apply (layer: ConvTranspose2d) (x: Tensor) = Functional.convTranspose2d layer.Options layer.Weight layer.Bias x

    let parameters (layer: ConvTranspose2d) : Named = withBias layer.Bias [ "weight", layer.Weight ]

// ---------------------------------------------------------------------- normalisation

/// Batch normalisation of (N, C, H, W). Weight, Bias: (C) parameters; RunningMean,
/// RunningVar: (C) buffers, updated in place by `apply true`.
type BatchNorm2d =
    { Weight: Tensor
      Bias: Tensor
      RunningMean: Tensor
      RunningVar: Tensor
      Momentum: float
      Eps: float }

module BatchNorm2d =
    /// Weight 1, bias 0, running mean 0, running variance 1, momentum 0.1, eps 1e-5 (PyTorch's).
    let create (channels: int) =
        if channels <= 0 then invalidArg "channels" (sprintf "BatchNorm2d.create: channels must be positive, received %d" channels)
        { Weight = Init.ones [| channels |]
          Bias = Init.zeros [| channels |]
          RunningMean = Tensor.zeros [ channels ]
          RunningVar = Tensor.ones [ channels ]
          Momentum = 0.1
          Eps = 1e-5 }

    /// training: batch statistics, running statistics updated; else the running statistics.
    /// x: (N, C, H, W). Returns x's shape.
    let apply (training: bool) (layer: BatchNorm2d) (x: Tensor) =
        if x.Dim <> 4 then
            invalidArg "x" (sprintf "BatchNorm2d.apply: x must be 4-D (N, C, H, W), received %A" x.Shape)
        Functional.batchNorm training layer.Momentum layer.Eps (Some layer.RunningMean) (Some layer.RunningVar)
            (Some layer.Weight) (Some layer.Bias) x

    let parameters (layer: BatchNorm2d) : Named = [ "weight", layer.Weight; "bias", layer.Bias ]

    /// "running_mean", "running_var" (PyTorch's names).
    let buffers (layer: BatchNorm2d) : Named = [ "running_mean", layer.RunningMean; "running_var", layer.RunningVar ]

/// Group normalisation. Weight, Bias: (C); Groups divides C.
type GroupNorm =
    { Groups: int
      Weight: Tensor
      Bias: Tensor
      Eps: float }

module GroupNorm =
    /// Weight 1, bias 0, eps 1e-5.
    let create (groups: int) (channels: int) =
        if groups <= 0 || channels <= 0 || channels % groups <> 0 then
            invalidArg "groups" (sprintf "GroupNorm.create: groups (%d) must be positive and divide channels (%d)" groups channels)
        { Groups = groups
          Weight = Init.ones [| channels |]
          Bias = Init.zeros [| channels |]
          Eps = 1e-5 }

    /// x: (N, C, ...). Returns x's shape.
    let apply (layer: GroupNorm) (x: Tensor) =
        Functional.groupNorm layer.Groups layer.Eps (Some layer.Weight) (Some layer.Bias) x

    let parameters (layer: GroupNorm) : Named = [ "weight", layer.Weight; "bias", layer.Bias ]

/// Which normalisation a network builder uses.
[<RequireQualifiedAccess>]
type NormKind =
    | Batch
    /// Group normalisation with this many groups, or the channel count if smaller.
    | Group of groups: int

/// A normalisation layer chosen at build time.
[<RequireQualifiedAccess>]
type Norm =
    | Batch of BatchNorm2d
    | Group of GroupNorm

module Norm =
    let create (kind: NormKind) (channels: int) =
        match kind with
        | NormKind.Batch -> Norm.Batch(BatchNorm2d.create channels)
        | NormKind.Group groups -> Norm.Group(GroupNorm.create (min groups channels) channels)

    /// x: (N, C, H, W). `training` matters to batch normalisation only.
    let apply (training: bool) (norm: Norm) (x: Tensor) =
        match norm with
        | Norm.Batch bn -> BatchNorm2d.apply training bn x
        | Norm.Group gn -> GroupNorm.apply gn x

    let parameters (norm: Norm) : Named =
        match norm with
        | Norm.Batch bn -> BatchNorm2d.parameters bn
        | Norm.Group gn -> GroupNorm.parameters gn

    let buffers (norm: Norm) : Named =
        match norm with
        | Norm.Batch bn -> BatchNorm2d.buffers bn
        | Norm.Group _ -> []

    /// Zeroes the scale (in place, no gradient recorded), so a residual branch starts as zero.
    let zeroScale (norm: Norm) =
        use _ = Autograd.noGrad ()
        match norm with
        | Norm.Batch bn -> bn.Weight.zero_ ()
        | Norm.Group gn -> gn.Weight.zero_ ()

// ---------------------------------------------------------------------- MLP

/// Linear layers with an activation between consecutive ones (none after the last).
type Mlp = { Layers: Linear list; Activation: Activation }

/// What `Mlp.create` builds; start from `Mlp.spec` and change fields.
type MlpSpec =
    { /// Input width, hidden widths..., output width (at least two entries).
      Widths: int list
      Activation: Activation
      /// Every layer but the last.
      Init: Init
      /// The last layer (`Init.Zeros` makes the network output exactly zero at start).
      LastInit: Init }

module Mlp =
    /// ReLU between layers, PyTorch's default initialisation everywhere.
    let spec (widths: int list) =
        { Widths = widths
          Activation = Activation.ReLU
          Init = Init.Default
          LastInit = Init.Default }

    let create (generator: Generator) (spec: MlpSpec) =
        if List.length spec.Widths < 2 then
            invalidArg "spec" (sprintf "Mlp.create: Widths needs input and output widths, received %A" spec.Widths)
        let pairs = List.pairwise spec.Widths
        let last = pairs.Length - 1
        let layers =
            pairs
            |> List.mapi (fun k (i, o) -> Linear.create generator (if k = last then spec.LastInit else spec.Init) i o)
        { Layers = layers; Activation = spec.Activation }

    let inFeatures (mlp: Mlp) = Linear.inFeatures mlp.Layers.Head
    let outFeatures (mlp: Mlp) = Linear.outFeatures (List.last mlp.Layers)

    /// x: (*, Widths.[0]). Returns (*, last width).
    let apply (mlp: Mlp) (x: Tensor) =
        use scope = DisposalScope.Open()
        let last = mlp.Layers.Length - 1
        let y =
            mlp.Layers
            |> List.indexed
            |> List.fold
                (fun h (k, layer) ->
                    let z = Linear.apply layer h
                    if k = last then z else Activation.apply mlp.Activation z)
                x
        scope.MoveOut y

    /// "layers.0.weight", "layers.0.bias", "layers.1.weight", ...
    let parameters (mlp: Mlp) : Named =
        mlp.Layers |> List.mapi (fun k l -> Linear.parameters l |> Named.prefix (sprintf "layers.%d" k)) |> List.concat

// ---------------------------------------------------------------------- ResNet encoder

/// Two 3x3 convolutions with normalisation and ReLU, plus the input (projected by a 1x1
/// convolution and a normalisation when the stride or width changes).
type BasicBlock =
    { Conv1: Conv2d
      Norm1: Norm
      Conv2: Conv2d
      Norm2: Norm
      Shortcut: (Conv2d * Norm) option }

/// How the encoder first reduces the image.
[<RequireQualifiedAccess>]
type Stem =
    /// ResNet's: 7x7 convolution stride 2, normalisation, ReLU, 3x3 max pool stride 2 (/4).
    | ImageNet
    /// 3x3 convolution stride 1, normalisation, ReLU: full resolution, for 32 px inputs.
    | Small

/// What `ResNet.create` builds; `ResNet.resnet18` is the published network.
type ResNetSpec =
    { InChannels: int
      /// Channels of the first stage; each later stage doubles them (64 in ResNet-18).
      Width: int
      /// Number of stages (4 in ResNet-18); each after the first halves the resolution.
      Stages: int
      /// Basic blocks per stage (2 in ResNet-18).
      BlocksPerStage: int
      Norm: NormKind
      Stem: Stem
      /// Convolution weights (torchvision: Kaiming normal, fan out); convolutions have no bias.
      Init: Init
      /// Start each block's last normalisation scale at zero, so every block is the identity.
      ZeroInitResidual: bool }

/// A ResNet encoder: stem, stages of basic blocks, global average pool to a feature vector.
type ResNetEncoder =
    { StemConv: Conv2d
      StemNorm: Norm
      StemPool: bool
      /// Stages, each a list of blocks.
      Stages: BasicBlock list list
      /// Length of the output feature vector: Width·2^(Stages-1).
      FeatureDim: int }

module BasicBlock =
    let create (generator: Generator) (norm: NormKind) (init: Init) (inChannels: int) (outChannels: int) (stride: int) =
        let conv i o k s p =
            Conv2d.create generator { Conv2d.spec i o k with Stride = s; Padding = p; Bias = false; Init = init }
        let conv1 = conv inChannels outChannels 3 stride 1
        let norm1 = Norm.create norm outChannels
        let conv2 = conv outChannels outChannels 3 1 1
        let norm2 = Norm.create norm outChannels
        let shortcut =
            if stride <> 1 || inChannels <> outChannels then Some(conv inChannels outChannels 1 stride 0, Norm.create norm outChannels)
            else None
        { Conv1 = conv1; Norm1 = norm1; Conv2 = conv2; Norm2 = norm2; Shortcut = shortcut }

    /// x: (N, Cin, H, W). Returns (N, Cout, H/stride, W/stride).
    let apply (training: bool) (block: BasicBlock) (x: Tensor) =
        use scope = DisposalScope.Open()
        let h =
            x
            |> Conv2d.apply block.Conv1
            |> Norm.apply training block.Norm1
            |> Functional.relu
            |> Conv2d.apply block.Conv2
            |> Norm.apply training block.Norm2
        let identity =
            match block.Shortcut with
            | Some (conv, norm) -> x |> Conv2d.apply conv |> Norm.apply training norm
            | None -> x
        scope.MoveOut(Functional.relu (h + identity))

    /// conv1, norm1, conv2, norm2, shortcut.conv, shortcut.norm.
    let parameters (block: BasicBlock) : Named =
        [ yield! Conv2d.parameters block.Conv1 |> Named.prefix "conv1"
          yield! Norm.parameters block.Norm1 |> Named.prefix "norm1"
          yield! Conv2d.parameters block.Conv2 |> Named.prefix "conv2"
          yield! Norm.parameters block.Norm2 |> Named.prefix "norm2"
          match block.Shortcut with
          | Some (conv, norm) ->
              yield! Conv2d.parameters conv |> Named.prefix "shortcut.conv"
              yield! Norm.parameters norm |> Named.prefix "shortcut.norm"
          | None -> () ]

    let buffers (block: BasicBlock) : Named =
        [ yield! Norm.buffers block.Norm1 |> Named.prefix "norm1"
          yield! Norm.buffers block.Norm2 |> Named.prefix "norm2"
          match block.Shortcut with
          | Some (_, norm) -> yield! Norm.buffers norm |> Named.prefix "shortcut.norm"
          | None -> () ]

module ResNet =
    /// ResNet-18 as published (torchvision's resnet18 without its classifier): 3 input channels,
    /// width 64, 4 stages of 2 blocks, batch norm, the ImageNet stem; a 512-d feature.
    let resnet18 =
        { InChannels = 3
          Width = 64
          Stages = 4
          BlocksPerStage = 2
          Norm = NormKind.Batch
          Stem = Stem.ImageNet
          Init = Init.KaimingNormal FanMode.FanOut
          ZeroInitResidual = false }

    let create (generator: Generator) (spec: ResNetSpec) =
        if spec.InChannels <= 0 || spec.Width <= 0 || spec.Stages <= 0 || spec.BlocksPerStage <= 0 then
            invalidArg "spec" (sprintf "ResNet.create: channels, width, stages and blocks must be positive, received %A" spec)
        let stemConv =
            match spec.Stem with
            | Stem.ImageNet -> { Conv2d.spec spec.InChannels spec.Width 7 with Stride = 2; Padding = 3; Bias = false; Init = spec.Init }
            | Stem.Small -> { Conv2d.spec spec.InChannels spec.Width 3 with Padding = 1; Bias = false; Init = spec.Init }
            |> Conv2d.create generator
        let stemNorm = Norm.create spec.Norm spec.Width
        let stages =
            List.init spec.Stages (fun s ->
                let outChannels = spec.Width <<< s
                let inChannels = if s = 0 then spec.Width else outChannels / 2
                List.init spec.BlocksPerStage (fun b ->
                    let stride = if s > 0 && b = 0 then 2 else 1
                    let cin = if b = 0 then inChannels else outChannels
                    let block = BasicBlock.create generator spec.Norm spec.Init cin outChannels stride
                    if spec.ZeroInitResidual then Norm.zeroScale block.Norm2
                    block))
        { StemConv = stemConv
          StemNorm = stemNorm
          StemPool = (spec.Stem = Stem.ImageNet)
          Stages = stages
          FeatureDim = spec.Width <<< (spec.Stages - 1) }

    /// The feature maps before pooling. x: (N, Cin, H, W) float32. Returns
    /// (N, FeatureDim, H/s, W/s), s = 2^(Stages-1), times 4 with the ImageNet stem.
    let features (training: bool) (encoder: ResNetEncoder) (x: Tensor) =
        if x.Dim <> 4 || x.Size 1 <> encoder.StemConv.Weight.Size 1 then
            invalidArg "x" (sprintf "ResNet: x must be (N, %d, H, W), received %A" (encoder.StemConv.Weight.Size 1) x.Shape)
        use scope = DisposalScope.Open()
        let stem =
            x
            |> Conv2d.apply encoder.StemConv
            |> Norm.apply training encoder.StemNorm
            |> Functional.relu
        let pooled = if encoder.StemPool then Functional.maxPool2d 3 2 1 stem else stem
        let y =
            encoder.Stages
            |> List.concat
            |> List.fold (fun h block -> BasicBlock.apply training block h) pooled
        scope.MoveOut y

    /// The globally average-pooled feature vector. x: (N, Cin, H, W) float32.
    /// Returns (N, FeatureDim).
    let apply (training: bool) (encoder: ResNetEncoder) (x: Tensor) =
        use scope = DisposalScope.Open()
        let maps = features training encoder x
        scope.MoveOut(maps.mean ([| 2; 3 |]))

    /// "stem.conv.weight", "stem.norm.weight", "stage1.block0.conv1.weight", ...
    let parameters (encoder: ResNetEncoder) : Named =
        [ yield! Conv2d.parameters encoder.StemConv |> Named.prefix "stem.conv"
          yield! Norm.parameters encoder.StemNorm |> Named.prefix "stem.norm"
          for s, stage in List.indexed encoder.Stages do
              for b, block in List.indexed stage do
                  yield! BasicBlock.parameters block |> Named.prefix (sprintf "stage%d.block%d" (s + 1) b) ]

    /// The running statistics of batch normalisation (empty with group normalisation).
    let buffers (encoder: ResNetEncoder) : Named =
        [ yield! Norm.buffers encoder.StemNorm |> Named.prefix "stem.norm"
          for s, stage in List.indexed encoder.Stages do
              for b, block in List.indexed stage do
                  yield! BasicBlock.buffers block |> Named.prefix (sprintf "stage%d.block%d" (s + 1) b) ]
