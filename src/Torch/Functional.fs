namespace Reconstruct.Torch

/// How a loss reduces its per-element values.
[<RequireQualifiedAccess>]
type Reduction =
    /// One value per element, the input's shape.
    | None
    /// The mean over all elements (a scalar).
    | Mean
    /// The sum over all elements (a scalar).
    | Sum

/// How `interpolate` and `gridSample` read between pixels.
[<RequireQualifiedAccess>]
type Interpolation =
    | Nearest
    | Bilinear

/// What `gridSample` reads outside the input.
[<RequireQualifiedAccess>]
type GridPadding =
    /// Zero outside.
    | Zeros
    /// The nearest border pixel.
    | Border
    /// The input mirrored at its borders.
    | Reflection

/// How `pad` fills the new border.
[<RequireQualifiedAccess>]
type PadMode =
    /// A constant value.
    | Constant of value: float
    /// The input mirrored at its edge, the edge not repeated (dcb|abcd|cba).
    | Reflect
    /// The edge value repeated (aaa|abcd|ddd).
    | Replicate

/// The output size of `interpolate`: an explicit size, or a factor applied to both axes
/// (output = floor(input * factor)).
[<RequireQualifiedAccess>]
type Resize =
    | Size of height: int * width: int
    | Scale of factor: float

/// Stride, zero padding, dilation and groups of a 2-D convolution; one value serves both axes.
type Conv2dOptions =
    { Stride: int
      Padding: int
      Dilation: int
      Groups: int }

    /// Stride 1, no padding, no dilation, one group.
    static member Defaults = { Stride = 1; Padding = 0; Dilation = 1; Groups = 1 }

/// Options of a transposed 2-D convolution. `OutputPadding` adds rows and columns on one side to
/// pick among the output sizes that a strided convolution maps to the same input size.
type ConvTranspose2dOptions =
    { Stride: int
      Padding: int
      OutputPadding: int
      Dilation: int
      Groups: int }

    static member Defaults = { Stride = 1; Padding = 0; OutputPadding = 0; Dilation = 1; Groups = 1 }

/// Functional neural-network operations over `Tensor`, each one ATen operator (so autograd
/// comes with it) behind checks that name the misused argument. The data tensor comes last so
/// calls pipe: `x |> Functional.conv2d opts w (Some b) |> Functional.relu`.
/// Qualified access keeps names like `tanh` from shadowing F#'s own.
[<RequireQualifiedAccess>]
module Functional =

    // ------------------------------------------------------------------ checks


    let private fail (arg: string) (message: string) = invalidArg arg message

    let private requireDim (fn: string) (arg: string) (dims: int) (layout: string) (t: Tensor) =
        if t.Dim <> dims then
            fail arg (sprintf "%s: %s must be %d-D %s, received shape %s" fn arg dims layout (Shape.text t.Shape))

    let private requireFloat (fn: string) (arg: string) (t: Tensor) =
        if t.Dtype <> Float32 && t.Dtype <> Float64 then
            fail arg (sprintf "%s: %s must be float32 or float64, received %s" fn arg (Dtype.name t.Dtype))

    let private requirePositive (fn: string) (arg: string) (value: int) =
        if value <= 0 then fail arg (sprintf "%s: %s must be positive, received %d" fn arg value)

    let private requireSameShape (fn: string) (input: Tensor) (target: Tensor) =
        if input.Shape <> target.Shape then
            fail "target" (sprintf "%s: target shape %s differs from input shape %s" fn (Shape.text target.Shape) (Shape.text input.Shape))

    let private requireVector (fn: string) (arg: string) (length: int) (t: Tensor option) =
        match t with
        | Some v when v.Shape <> [| length |] ->
            fail arg (sprintf "%s: %s must have shape [%d], received %s" fn arg length (Shape.text v.Shape))
        | _ -> ()

    let private optional (t: Tensor option) =
        match t with
        | Some v -> Arg.T v
        | None -> Arg.NoneArg

    let private reductionCode =
        function
        | Reduction.None -> 0L
        | Reduction.Mean -> 1L
        | Reduction.Sum -> 2L

    // ------------------------------------------------------------------ operators

    let private opConv2d = Op("aten::conv2d")
    let private opConvTranspose2d = Op("aten::conv_transpose2d", "input")
    let private opLinear = Op("aten::linear")
    let private opBatchNorm = Op("aten::batch_norm")
    let private opGroupNorm = Op("aten::group_norm")
    let private opInstanceNorm = Op("aten::instance_norm")
    let private opMaxPool2d = Op("aten::max_pool2d")
    let private opAvgPool2d = Op("aten::avg_pool2d")
    let private opAdaptiveAvgPool2d = Op("aten::adaptive_avg_pool2d")
    let private opAdaptiveMaxPool2d = Op("aten::adaptive_max_pool2d")
    let private opUpsampleNearest = Op("aten::upsample_nearest2d", "vec")
    let private opUpsampleBilinear = Op("aten::upsample_bilinear2d", "vec")
    let private opGridSampler = Op("aten::grid_sampler")
    let private opConstantPad = Op("aten::constant_pad_nd")
    let private opReflectionPad1d = Op("aten::reflection_pad1d")
    let private opReflectionPad2d = Op("aten::reflection_pad2d")
    let private opReplicationPad1d = Op("aten::replication_pad1d")
    let private opReplicationPad2d = Op("aten::replication_pad2d")
    let private opAlias = Op("aten::alias")
    let private opLeakyRelu = Op("aten::leaky_relu")
    let private opElu = Op("aten::elu")
    let private opSoftplus = Op("aten::softplus")
    let private opSoftmax = Op("aten::softmax", "int")
    let private opLogSoftmax = Op("aten::log_softmax", "int")
    let private opMse = Op("aten::mse_loss")
    let private opL1 = Op("aten::l1_loss")
    let private opSmoothL1 = Op("aten::smooth_l1_loss")
    let private opBceLogits = Op("aten::binary_cross_entropy_with_logits")
    let private opCrossEntropy = Op("aten::cross_entropy_loss")

    // ------------------------------------------------------------------ linear and convolution

    /// Affine map of the last dimension: x · weightᵀ + bias.
    /// x: (*, In); weight: (Out, In); bias: (Out) or None. Returns (*, Out), x's dtype.
    let linear (weight: Tensor) (bias: Tensor option) (x: Tensor) =
        requireDim "linear" "weight" 2 "(Out, In)" weight
        if x.Dim < 1 then fail "x" "linear: x must have at least 1 dimension, received a scalar"
        if x.Size -1 <> weight.Size 1 then
            fail "x" (sprintf "linear: x's last dimension (%d) must equal weight's In (%d); x %s, weight %s"
                          (x.Size -1) (weight.Size 1) (Shape.text x.Shape) (Shape.text weight.Shape))
        requireVector "linear" "bias" (weight.Size 0) bias
        Tensor.Call(opLinear, Arg.T x, Arg.T weight, optional bias)

    /// 2-D convolution (cross-correlation, as in PyTorch).
    /// x: (N, Cin, H, W); weight: (Cout, Cin/groups, kH, kW); bias: (Cout) or None.
    /// Returns (N, Cout, Ho, Wo) with Ho = (H + 2·padding - dilation·(kH-1) - 1) / stride + 1.
    let conv2d (options: Conv2dOptions) (weight: Tensor) (bias: Tensor option) (x: Tensor) =
        requireDim "conv2d" "x" 4 "(N, C, H, W)" x
        requireDim "conv2d" "weight" 4 "(Cout, Cin/groups, kH, kW)" weight
        requirePositive "conv2d" "stride" options.Stride
        requirePositive "conv2d" "groups" options.Groups
        requirePositive "conv2d" "dilation" options.Dilation
        if options.Padding < 0 then fail "padding" (sprintf "conv2d: padding must be >= 0, received %d" options.Padding)
        if x.Size 1 <> weight.Size 1 * options.Groups then
            fail "x" (sprintf "conv2d: x has %d channels, weight %s with %d group(s) expects %d"
                          (x.Size 1) (Shape.text weight.Shape) options.Groups (weight.Size 1 * options.Groups))
        if weight.Size 0 % options.Groups <> 0 then
            fail "groups" (sprintf "conv2d: output channels (%d) must be divisible by groups (%d)" (weight.Size 0) options.Groups)
        requireVector "conv2d" "bias" (weight.Size 0) bias
        Tensor.Call(
            opConv2d, Arg.T x, Arg.T weight, optional bias, Arg.I(int64 options.Stride), Arg.I(int64 options.Padding),
            Arg.I(int64 options.Dilation), Arg.I(int64 options.Groups))

    /// Transposed 2-D convolution, the gradient of `conv2d` with respect to its input.
    /// x: (N, Cin, H, W); weight: (Cin, Cout/groups, kH, kW); bias: (Cout) or None.
    /// Returns (N, Cout, Ho, Wo) with
    /// Ho = (H-1)·stride - 2·padding + dilation·(kH-1) + outputPadding + 1.
    let convTranspose2d (options: ConvTranspose2dOptions) (weight: Tensor) (bias: Tensor option) (x: Tensor) =
        requireDim "convTranspose2d" "x" 4 "(N, C, H, W)" x
        requireDim "convTranspose2d" "weight" 4 "(Cin, Cout/groups, kH, kW)" weight
        requirePositive "convTranspose2d" "stride" options.Stride
        requirePositive "convTranspose2d" "groups" options.Groups
        requirePositive "convTranspose2d" "dilation" options.Dilation
        if options.OutputPadding >= max options.Stride options.Dilation || options.OutputPadding < 0 then
            fail "outputPadding" (sprintf "convTranspose2d: outputPadding must be in [0, max(stride, dilation)), received %d" options.OutputPadding)
        if x.Size 1 <> weight.Size 0 then
            fail "x" (sprintf "convTranspose2d: x has %d channels, weight %s expects %d" (x.Size 1) (Shape.text weight.Shape) (weight.Size 0))
        requireVector "convTranspose2d" "bias" (weight.Size 1 * options.Groups) bias
        Tensor.Call(
            opConvTranspose2d, Arg.T x, Arg.T weight, optional bias, Arg.I(int64 options.Stride),
            Arg.I(int64 options.Padding), Arg.I(int64 options.OutputPadding), Arg.I(int64 options.Groups),
            Arg.I(int64 options.Dilation))

    // ------------------------------------------------------------------ normalisation

    /// Batch normalisation over (N, spatial...) per channel, then weight·x̂ + bias.
    /// In training it normalises with the batch statistics and, when given, updates the running
    /// statistics in place: mean ← (1-momentum)·mean + momentum·batchMean, and likewise the
    /// variance with the unbiased batch variance. In evaluation it uses the running statistics.
    /// x: (N, C, ...); runningMean, runningVar, weight, bias: (C), x's dtype.
    let batchNorm
        (training: bool)
        (momentum: float)
        (eps: float)
        (runningMean: Tensor option)
        (runningVar: Tensor option)
        (weight: Tensor option)
        (bias: Tensor option)
        (x: Tensor)
        =
        if x.Dim < 2 then fail "x" (sprintf "batchNorm: x must be (N, C, ...) with at least 2 dimensions, received %s" (Shape.text x.Shape))
        let c = x.Size 1
        for name, t in [ "runningMean", runningMean; "runningVar", runningVar; "weight", weight; "bias", bias ] do
            requireVector "batchNorm" name c t
        if runningMean.IsSome <> runningVar.IsSome then
            fail "runningVar" "batchNorm: runningMean and runningVar must be given together"
        if not training && runningMean.IsNone then
            fail "runningMean" "batchNorm: evaluation mode needs runningMean and runningVar"
        if training && x.Numel / c <= 1 then
            fail "x" (sprintf "batchNorm: training needs more than one value per channel, received %s" (Shape.text x.Shape))
        Tensor.Call(
            opBatchNorm, Arg.T x, optional weight, optional bias, optional runningMean, optional runningVar,
            Arg.B training, Arg.F momentum, Arg.F eps, Arg.B false)

    /// Group normalisation: channels split into `groups` groups, each normalised over its channels
    /// and the spatial dimensions per sample, then weight·x̂ + bias per channel.
    /// x: (N, C, ...) with C divisible by groups; weight, bias: (C) or None.
    let groupNorm (groups: int) (eps: float) (weight: Tensor option) (bias: Tensor option) (x: Tensor) =
        if x.Dim < 2 then fail "x" (sprintf "groupNorm: x must be (N, C, ...) with at least 2 dimensions, received %s" (Shape.text x.Shape))
        requirePositive "groupNorm" "groups" groups
        let c = x.Size 1
        if c % groups <> 0 then fail "groups" (sprintf "groupNorm: channels (%d) must be divisible by groups (%d)" c groups)
        requireVector "groupNorm" "weight" c weight
        requireVector "groupNorm" "bias" c bias
        Tensor.Call(opGroupNorm, Arg.T x, Arg.I(int64 groups), optional weight, optional bias, Arg.F eps, Arg.B false)

    /// Instance normalisation: each channel of each sample normalised over its spatial
    /// dimensions (no running statistics), then weight·x̂ + bias.
    /// x: (N, C, spatial...) with at least one spatial dimension; weight, bias: (C) or None.
    let instanceNorm (eps: float) (weight: Tensor option) (bias: Tensor option) (x: Tensor) =
        if x.Dim < 3 then fail "x" (sprintf "instanceNorm: x must be (N, C, spatial...) with at least 3 dimensions, received %s" (Shape.text x.Shape))
        requireVector "instanceNorm" "weight" (x.Size 1) weight
        requireVector "instanceNorm" "bias" (x.Size 1) bias
        Tensor.Call(
            opInstanceNorm, Arg.T x, optional weight, optional bias, Arg.NoneArg, Arg.NoneArg, Arg.B true, Arg.F 0.1,
            Arg.F eps, Arg.B false)

    // ------------------------------------------------------------------ pooling

    /// Maximum over kernel×kernel windows (padding counts as -inf).
    /// x: (N, C, H, W). Returns (N, C, (H + 2·padding - kernel) / stride + 1, ...).
    let maxPool2d (kernel: int) (stride: int) (padding: int) (x: Tensor) =
        requireDim "maxPool2d" "x" 4 "(N, C, H, W)" x
        requirePositive "maxPool2d" "kernel" kernel
        requirePositive "maxPool2d" "stride" stride
        if padding < 0 || 2 * padding > kernel then
            fail "padding" (sprintf "maxPool2d: padding must be in [0, kernel/2], received %d for kernel %d" padding kernel)
        Tensor.Call(opMaxPool2d, Arg.T x, Arg.I(int64 kernel), Arg.I(int64 stride), Arg.I(int64 padding), Arg.I 1L, Arg.B false)

    /// Mean over kernel×kernel windows; zero padding counts in the divisor (PyTorch's default).
    /// x: (N, C, H, W). Returns (N, C, (H + 2·padding - kernel) / stride + 1, ...).
    let avgPool2d (kernel: int) (stride: int) (padding: int) (x: Tensor) =
        requireDim "avgPool2d" "x" 4 "(N, C, H, W)" x
        requirePositive "avgPool2d" "kernel" kernel
        requirePositive "avgPool2d" "stride" stride
        if padding < 0 || 2 * padding > kernel then
            fail "padding" (sprintf "avgPool2d: padding must be in [0, kernel/2], received %d for kernel %d" padding kernel)
        Tensor.Call(opAvgPool2d, Arg.T x, Arg.I(int64 kernel), Arg.I(int64 stride), Arg.I(int64 padding), Arg.B false, Arg.B true)

    /// Mean over the adaptive windows that cover x with exactly (height, width) outputs;
    /// `(1, 1)` is global average pooling. x: (N, C, H, W). Returns (N, C, height, width).
    let adaptiveAvgPool2d (height: int, width: int) (x: Tensor) =
        requireDim "adaptiveAvgPool2d" "x" 4 "(N, C, H, W)" x
        requirePositive "adaptiveAvgPool2d" "height" height
        requirePositive "adaptiveAvgPool2d" "width" width
        Tensor.Call(opAdaptiveAvgPool2d, Arg.T x, Arg.Ints [| int64 height; int64 width |])

    /// Maximum over adaptive windows. x: (N, C, H, W). Returns (N, C, height, width).
    let adaptiveMaxPool2d (height: int, width: int) (x: Tensor) =
        requireDim "adaptiveMaxPool2d" "x" 4 "(N, C, H, W)" x
        requirePositive "adaptiveMaxPool2d" "height" height
        requirePositive "adaptiveMaxPool2d" "width" width
        let r = Tensor.CallMany(opAdaptiveMaxPool2d, Arg.T x, Arg.Ints [| int64 height; int64 width |])
        (r.[1] :> System.IDisposable).Dispose()
        r.[0]

    // ------------------------------------------------------------------ resampling

    /// Resizes images. Nearest: output pixel i reads input floor(i / scale) (so x2 duplicates
    /// pixels). Bilinear: with alignCorners the corner pixel centres of input and output
    /// coincide, without it their outer edges do (PyTorch's conventions; nearest rejects
    /// alignCorners = true). x: (N, C, H, W) float. Returns (N, C, Ho, Wo).
    let interpolate (mode: Interpolation) (alignCorners: bool) (size: Resize) (x: Tensor) =
        requireDim "interpolate" "x" 4 "(N, C, H, W)" x
        requireFloat "interpolate" "x" x
        let sizeArg, scaleArg =
            match size with
            | Resize.Size (h, w) ->
                requirePositive "interpolate" "height" h
                requirePositive "interpolate" "width" w
                Arg.Ints [| int64 h; int64 w |], Arg.NoneArg
            | Resize.Scale s ->
                if not (s > 0.0) || int (floor (float (x.Size 2) * s)) < 1 || int (floor (float (x.Size 3) * s)) < 1 then
                    fail "size" (sprintf "interpolate: scale factor %g of %s leaves an empty image" s (Shape.text x.Shape))
                Arg.NoneArg, Arg.Floats [| s; s |]
        match mode with
        | Interpolation.Nearest ->
            if alignCorners then fail "alignCorners" "interpolate: alignCorners applies to bilinear mode only"
            Tensor.Call(opUpsampleNearest, Arg.T x, sizeArg, scaleArg)
        | Interpolation.Bilinear -> Tensor.Call(opUpsampleBilinear, Arg.T x, sizeArg, Arg.B alignCorners, scaleArg)

    /// Samples x at the grid's normalised coordinates: grid[..., 0] = x (-1 left, +1 right),
    /// grid[..., 1] = y (-1 top, +1 bottom). With alignCorners = false, ±1 are the outer edges of
    /// the border pixels (the project's NDC convention); with true, their centres.
    /// grid: (N, Ho, Wo, 2); x: (N, C, H, W), same float dtype. Returns (N, C, Ho, Wo).
    let gridSample (mode: Interpolation) (padding: GridPadding) (alignCorners: bool) (grid: Tensor) (x: Tensor) =
        requireDim "gridSample" "x" 4 "(N, C, H, W)" x
        requireDim "gridSample" "grid" 4 "(N, Ho, Wo, 2)" grid
        requireFloat "gridSample" "x" x
        if grid.Size 3 <> 2 then fail "grid" (sprintf "gridSample: grid must end in 2 coordinates (x, y), received %s" (Shape.text grid.Shape))
        if grid.Size 0 <> x.Size 0 then
            fail "grid" (sprintf "gridSample: grid batch %d differs from x batch %d" (grid.Size 0) (x.Size 0))
        if grid.Dtype <> x.Dtype then
            fail "grid" (sprintf "gridSample: grid is %s, x is %s" (Dtype.name grid.Dtype) (Dtype.name x.Dtype))
        let modeCode = match mode with Interpolation.Bilinear -> 0L | Interpolation.Nearest -> 1L
        let paddingCode =
            match padding with
            | GridPadding.Zeros -> 0L
            | GridPadding.Border -> 1L
            | GridPadding.Reflection -> 2L
        Tensor.Call(opGridSampler, Arg.T x, Arg.T grid, Arg.I modeCode, Arg.I paddingCode, Arg.B alignCorners)

    /// Pads the last dimensions. pads = [left; right] for the last dimension, then
    /// [top; bottom] for the one before, and so on (PyTorch's order). Constant padding takes any
    /// even count (negative values crop); reflect and replicate pad 1 or 2 dimensions of a
    /// (C, W)/(N, C, W) or (C, H, W)/(N, C, H, W) tensor, and reflection needs pads < size.
    let pad (mode: PadMode) (pads: int list) (x: Tensor) =
        let n = List.length pads
        if n = 0 || n % 2 <> 0 || n / 2 > x.Dim then
            fail "pads" (sprintf "pad: pads must hold 2 values per padded dimension (at most %d), received %d" (2 * x.Dim) n)
        let arg = Arg.Ints(pads |> List.map int64 |> Array.ofList)
        match mode with
        | PadMode.Constant value -> Tensor.Call(opConstantPad, Arg.T x, arg, Arg.F value)
        | PadMode.Reflect
        | PadMode.Replicate ->
            let name = match mode with PadMode.Reflect -> "reflect" | _ -> "replicate"
            if List.exists (fun p -> p < 0) pads then fail "pads" (sprintf "pad: %s pads must be >= 0, received %A" name pads)
            let dims = n / 2
            if dims > 2 || x.Dim < dims + 1 || x.Dim > dims + 2 then
                fail "x" (sprintf "pad: %s padding of %d dimension(s) needs a %d-D or %d-D x, received %s" name dims (dims + 1) (dims + 2) (Shape.text x.Shape))
            if mode = PadMode.Reflect then
                pads
                |> List.iteri (fun k p ->
                    let size = x.Size(-1 - k / 2)
                    if p >= size then
                        fail "pads" (sprintf "pad: reflect padding %d must be smaller than the dimension's size %d" p size))
            let op =
                match mode, dims with
                | PadMode.Reflect, 1 -> opReflectionPad1d
                | PadMode.Reflect, _ -> opReflectionPad2d
                | _, 1 -> opReplicationPad1d
                | _ -> opReplicationPad2d
            Tensor.Call(op, Arg.T x, arg)

    // ------------------------------------------------------------------ activations

    /// max(x, 0), elementwise.
    let relu (x: Tensor) = x.relu ()

    /// x for x >= 0, slope·x below.
    let leakyRelu (slope: float) (x: Tensor) = Tensor.Call(opLeakyRelu, Arg.T x, Arg.F slope)

    /// x for x > 0, alpha·(exp(x) - 1) below.
    let elu (alpha: float) (x: Tensor) = Tensor.Call(opElu, Arg.T x, Arg.F alpha, Arg.F 1.0, Arg.F 1.0)

    /// log(1 + exp(beta·x)) / beta; linear where beta·x > threshold, for stability.
    let softplus (beta: float) (threshold: float) (x: Tensor) =
        Tensor.Call(opSoftplus, Arg.T x, Arg.F beta, Arg.F threshold)

    /// 1 / (1 + exp(-x)), elementwise.
    let sigmoid (x: Tensor) = x.sigmoid ()

    /// Hyperbolic tangent, elementwise.
    let tanh (x: Tensor) = x.tanh ()

    /// exp(x) normalised to sum 1 along `dim`.
    let softmax (dim: int) (x: Tensor) = Tensor.Call(opSoftmax, Arg.T x, Arg.I(int64 dim), Arg.NoneArg)

    /// log(softmax(x)) along `dim`, computed stably.
    let logSoftmax (dim: int) (x: Tensor) = Tensor.Call(opLogSoftmax, Arg.T x, Arg.I(int64 dim), Arg.NoneArg)

    /// Inverted dropout: in training each element is zeroed with probability p, drawn from
    /// `generator`, and survivors are scaled by 1/(1-p) so the expectation is unchanged; in
    /// evaluation (or p = 0) the result is x (a new handle on the same data).
    /// x: any shape, float. Returns x's shape.
    let dropout (generator: Generator) (p: float) (training: bool) (x: Tensor) =
        if not (p >= 0.0 && p <= 1.0) then fail "p" (sprintf "dropout: p must be in [0, 1], received %g" p)
        if not training || p = 0.0 then Tensor.Call(opAlias, Arg.T x)
        elif p = 1.0 then x * 0.0
        else
            use keep = Tensor.full (x.Shape, 1.0 - p, x.Dtype)
            use mask = keep.bernoulli generator
            use kept = x * mask
            kept * (1.0 / (1.0 - p))

    // ------------------------------------------------------------------ losses

    /// (input - target)², reduced. input, target: same shape, float.
    let mseLoss (reduction: Reduction) (input: Tensor) (target: Tensor) =
        requireSameShape "mseLoss" input target
        Tensor.Call(opMse, Arg.T input, Arg.T target, Arg.I(reductionCode reduction))

    /// |input - target|, reduced. input, target: same shape, float.
    let l1Loss (reduction: Reduction) (input: Tensor) (target: Tensor) =
        requireSameShape "l1Loss" input target
        Tensor.Call(opL1, Arg.T input, Arg.T target, Arg.I(reductionCode reduction))

    /// Huber-like loss: 0.5·d²/beta where |d| < beta, |d| - 0.5·beta elsewhere (d = input - target),
    /// reduced. input, target: same shape, float; beta > 0.
    let smoothL1Loss (beta: float) (reduction: Reduction) (input: Tensor) (target: Tensor) =
        requireSameShape "smoothL1Loss" input target
        if not (beta > 0.0) then fail "beta" (sprintf "smoothL1Loss: beta must be positive, received %g" beta)
        Tensor.Call(opSmoothL1, Arg.T input, Arg.T target, Arg.I(reductionCode reduction), Arg.F beta)

    /// Binary cross-entropy of sigmoid(logits) against targets in [0, 1], computed stably:
    /// max(z, 0) - z·y + log(1 + exp(-|z|)), reduced. logits, target: same shape, float.
    let binaryCrossEntropyWithLogits (reduction: Reduction) (logits: Tensor) (target: Tensor) =
        requireSameShape "binaryCrossEntropyWithLogits" logits target
        Tensor.Call(opBceLogits, Arg.T logits, Arg.T target, Arg.NoneArg, Arg.NoneArg, Arg.I(reductionCode reduction))

    /// Cross-entropy of softmax(logits) over the class dimension 1 against class indices:
    /// -log_softmax(logits)[n, target[n]], reduced (the mean is over samples).
    /// logits: (N, C) or (N, C, d...) float; target: (N) or (N, d...) int64 in [0, C).
    let crossEntropy (reduction: Reduction) (logits: Tensor) (target: Tensor) =
        if logits.Dim < 2 then fail "logits" (sprintf "crossEntropy: logits must be (N, C, ...), received %s" (Shape.text logits.Shape))
        if target.Dtype <> Int64 then
            fail "target" (sprintf "crossEntropy: target must be int64 class indices, received %s" (Dtype.name target.Dtype))
        let expected = Array.append [| logits.Size 0 |] logits.Shape.[2..]
        if target.Shape <> expected then
            fail "target" (sprintf "crossEntropy: target must have shape %s for logits %s, received %s"
                               (Shape.text expected) (Shape.text logits.Shape) (Shape.text target.Shape))
        Tensor.Call(opCrossEntropy, Arg.T logits, Arg.T target, Arg.NoneArg, Arg.I(reductionCode reduction), Arg.I -100L, Arg.F 0.0)
