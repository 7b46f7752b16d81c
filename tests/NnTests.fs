/// Functional ops against loops and formulas written here, their gradients against finite
/// differences, and the layers' initialisation, shapes and parameter lists.
module Reconstruct.Tests.NnTests

open System
open Expecto
open Reconstruct.Torch
open Reconstruct.Torch.Layers
open Reconstruct.Tests.TestHelpers

module F = Reconstruct.Torch.Functional

// ---------------------------------------------------------------------- helpers

let randn (g: Generator) (shape: int list) = Tensor.randn (shape, g, Float64)
let tensor (shape: int list) (data: float[]) = Tensor.ofArray (data, shape)
let values (t: Tensor) = t.ToFloat64s()

/// Flat index of (a, b, c, d) in a row-major 4-D shape.
let idx4 (s: int[]) a b c d = ((a * s.[1] + b) * s.[2] + c) * s.[3] + d

let assertValues (expected: float[]) (actual: Tensor) =
    let atol, rtol = tolerance actual.Dtype
    assertClose atol rtol expected (values actual)

let assertShape (expected: int list) (t: Tensor) = Expect.equal t.Shape (Array.ofList expected) "t.Shape"

/// A scalar that depends on every output element with a different weight, so gradient checks
/// see the whole Jacobian rather than its column sums.
let weightedSum (g: Generator) (shape: int[]) =
    let w = Tensor.randn (shape, g, Float64)
    fun (y: Tensor) -> (y * w).sum ()

let throwsNaming (fragment: string) (f: unit -> unit) =
    let e = Expect.catchAnyT<ArgumentException> (fun () -> f ()) "f ()"
    Expect.stringContains e.Message fragment "e.Message"

// ---------------------------------------------------------------------- references

/// Direct convolution: out[n,o,i,j] = b[o] + sum x[n, g·cpg + c, i·s - p + u·d, j·s - p + v·d] · w[o,c,u,v].
let conv2dReference (x: float[]) (xs: int[]) (w: float[]) (ws: int[]) (b: float[] option) stride pad dil groups =
    let n, h, wd = xs.[0], xs.[2], xs.[3]
    let cout, cpg, kh, kw = ws.[0], ws.[1], ws.[2], ws.[3]
    let ho = (h + 2 * pad - dil * (kh - 1) - 1) / stride + 1
    let wo = (wd + 2 * pad - dil * (kw - 1) - 1) / stride + 1
    let os = [| n; cout; ho; wo |]
    let out = Array.zeroCreate (n * cout * ho * wo)
    for a in 0 .. n - 1 do
        for o in 0 .. cout - 1 do
            let grp = o / (cout / groups)
            for i in 0 .. ho - 1 do
                for j in 0 .. wo - 1 do
                    let mutable acc = match b with Some bs -> bs.[o] | None -> 0.0
                    for c in 0 .. cpg - 1 do
                        for u in 0 .. kh - 1 do
                            for v in 0 .. kw - 1 do
                                let r, q = i * stride - pad + u * dil, j * stride - pad + v * dil
                                if r >= 0 && r < h && q >= 0 && q < wd then
                                    acc <- acc + x.[idx4 xs a (grp * cpg + c) r q] * w.[idx4 ws o c u v]
                    out.[idx4 os a o i j] <- acc
    out, os

/// Transposed convolution by scattering every input pixel through the kernel.
let convTranspose2dReference (x: float[]) (xs: int[]) (w: float[]) (ws: int[]) (b: float[]) stride pad outPad dil groups =
    let n, cin, h, wd = xs.[0], xs.[1], xs.[2], xs.[3]
    let opg, kh, kw = ws.[1], ws.[2], ws.[3]
    let cout = opg * groups
    let ho = (h - 1) * stride - 2 * pad + dil * (kh - 1) + outPad + 1
    let wo = (wd - 1) * stride - 2 * pad + dil * (kw - 1) + outPad + 1
    let os = [| n; cout; ho; wo |]
    let out = Array.init (n * cout * ho * wo) (fun k -> b.[(k / (ho * wo)) % cout])
    for a in 0 .. n - 1 do
        for c in 0 .. cin - 1 do
            let grp = c / (cin / groups)
            for i in 0 .. h - 1 do
                for j in 0 .. wd - 1 do
                    for o in 0 .. opg - 1 do
                        for u in 0 .. kh - 1 do
                            for v in 0 .. kw - 1 do
                                let r, q = i * stride - pad + u * dil, j * stride - pad + v * dil
                                if r >= 0 && r < ho && q >= 0 && q < wo then
                                    let k = idx4 os a (grp * opg + o) r q
                                    out.[k] <- out.[k] + x.[idx4 xs a c i j] * w.[idx4 ws c o u v]
    out, os

/// Per-window reduction over kernel×kernel windows; padded cells are skipped (max) or count as
/// zero (avg, divisor kernel²).
let pool2dReference (isMax: bool) (x: float[]) (xs: int[]) kernel stride pad =
    let ho = (xs.[2] + 2 * pad - kernel) / stride + 1
    let wo = (xs.[3] + 2 * pad - kernel) / stride + 1
    let os = [| xs.[0]; xs.[1]; ho; wo |]
    let out = Array.zeroCreate (os |> Array.reduce (*))
    for a in 0 .. xs.[0] - 1 do
        for c in 0 .. xs.[1] - 1 do
            for i in 0 .. ho - 1 do
                for j in 0 .. wo - 1 do
                    let cells =
                        [ for u in 0 .. kernel - 1 do
                              for v in 0 .. kernel - 1 do
                                  let r, q = i * stride - pad + u, j * stride - pad + v
                                  if r >= 0 && r < xs.[2] && q >= 0 && q < xs.[3] then x.[idx4 xs a c r q] ]
                    out.[idx4 os a c i j] <- if isMax then List.max cells else List.sum cells / float (kernel * kernel)
    out, os

/// Adaptive windows: rows [floor(i·H/Ho), ceil((i+1)·H/Ho)).
let adaptivePoolReference (reduce: float list -> float) (x: float[]) (xs: int[]) ho wo =
    let os = [| xs.[0]; xs.[1]; ho; wo |]
    let out = Array.zeroCreate (os |> Array.reduce (*))
    let window i o size = i * size / o, ((i + 1) * size + o - 1) / o
    for a in 0 .. xs.[0] - 1 do
        for c in 0 .. xs.[1] - 1 do
            for i in 0 .. ho - 1 do
                for j in 0 .. wo - 1 do
                    let r0, r1 = window i ho xs.[2]
                    let q0, q1 = window j wo xs.[3]
                    out.[idx4 os a c i j] <- reduce [ for r in r0 .. r1 - 1 do for q in q0 .. q1 - 1 -> x.[idx4 xs a c r q] ]
    out

/// Bilinear read of channel c of sample a at continuous pixel coordinates (px, py), pixel
/// centres at integers; `outside` decides the value of cells beyond the image.
let bilinearAt (x: float[]) (xs: int[]) a c (px: float) (py: float) (outside: int -> int -> float option) =
    let x0, y0 = int (floor px), int (floor py)
    let fx, fy = px - float x0, py - float y0
    let cell r q =
        match outside r q with
        | Some v -> v
        | None -> x.[idx4 xs a c r q]
    (1.0 - fx) * (1.0 - fy) * cell y0 x0 + fx * (1.0 - fy) * cell y0 (x0 + 1)
    + (1.0 - fx) * fy * cell (y0 + 1) x0 + fx * fy * cell (y0 + 1) (x0 + 1)

/// PyTorch's reflection for align_corners = false: mirror about -0.5 and size - 0.5, then clip.
let reflectCoordinate (size: int) (p: float) =
    let span = float size
    let d = abs (p + 0.5)
    let flips = floor (d / span)
    let extra = d - flips * span
    let r = if int flips % 2 = 0 then extra - 0.5 else span - extra - 0.5
    min (max r 0.0) (float size - 1.0)

/// gridSample with bilinear interpolation and align_corners = false, by the formula.
let gridSampleReference (padding: GridPadding) (x: float[]) (xs: int[]) (grid: float[]) (gs: int[]) =
    let h, w = xs.[2], xs.[3]
    let os = [| xs.[0]; xs.[1]; gs.[1]; gs.[2] |]
    let out = Array.zeroCreate (os |> Array.reduce (*))
    for a in 0 .. xs.[0] - 1 do
        for i in 0 .. gs.[1] - 1 do
            for j in 0 .. gs.[2] - 1 do
                let k = ((a * gs.[1] + i) * gs.[2] + j) * 2
                let px = ((grid.[k] + 1.0) * float w - 1.0) / 2.0
                let py = ((grid.[k + 1] + 1.0) * float h - 1.0) / 2.0
                let px, py =
                    match padding with
                    | GridPadding.Zeros -> px, py
                    | GridPadding.Border -> min (max px 0.0) (float w - 1.0), min (max py 0.0) (float h - 1.0)
                    | GridPadding.Reflection -> reflectCoordinate w px, reflectCoordinate h py
                for c in 0 .. xs.[1] - 1 do
                    let outside r q =
                        if r >= 0 && r < h && q >= 0 && q < w then None
                        else
                            // Border/reflection coordinates lie inside, so only a zero-weight
                            // neighbour can fall outside; it must not index out of range.
                            Some 0.0
                    out.[idx4 os a c i j] <- bilinearAt x xs a c px py outside
    out

// ---------------------------------------------------------------------- normalisation

/// Per-channel (mean, biased variance, unbiased variance) of (N, C, H, W) values.
let channelStats (x: float[]) (s: int[]) =
    Array.init s.[1] (fun c ->
        let v = [| for a in 0 .. s.[0] - 1 do for i in 0 .. s.[2] - 1 do for j in 0 .. s.[3] - 1 -> x.[idx4 s a c i j] |]
        let m = Array.average v
        let ss = v |> Array.sumBy (fun e -> (e - m) ** 2.0)
        m, ss / float v.Length, ss / float (v.Length - 1))

/// Group norm by the formula: statistics over each group's channels and all pixels, biased.
let groupNormReference (x: float[]) (s: int[]) groups (w: float[]) (b: float[]) eps =
    let cpg = s.[1] / groups
    let hw = s.[2] * s.[3]
    let out = Array.zeroCreate x.Length
    for a in 0 .. s.[0] - 1 do
        for grp in 0 .. groups - 1 do
            let start = (a * s.[1] + grp * cpg) * hw
            let v = x.[start .. start + cpg * hw - 1]
            let m = Array.average v
            let var = v |> Array.averageBy (fun e -> (e - m) ** 2.0)
            for k in 0 .. cpg * hw - 1 do
                let c = grp * cpg + k / hw
                out.[start + k] <- (v.[k] - m) / sqrt (var + eps) * w.[c] + b.[c]
    out

/// The grid that samples every pixel centre of an h×w image (align_corners = false).
let identityGrid (n: int) (h: int) (w: int) =
    let data = [| for _ in 1 .. n do for i in 0 .. h - 1 do for j in 0 .. w - 1 do yield! [ (2.0 * float j + 1.0) / float w - 1.0; (2.0 * float i + 1.0) / float h - 1.0 ] |]
    tensor [ n; h; w; 2 ] data

// ---------------------------------------------------------------------- losses

let reduce (reduction: Reduction) (v: float[]) =
    match reduction with
    | Reduction.None -> v
    | Reduction.Mean -> [| Array.average v |]
    | Reduction.Sum -> [| Array.sum v |]

// ---------------------------------------------------------------------- layers: initialisation

let stats (t: Tensor) =
    let v = values t
    let m = Array.average v
    m, sqrt (v |> Array.averageBy (fun e -> (e - m) ** 2.0)), v |> Array.map abs |> Array.max

// ---------------------------------------------------------------------- layers: shapes and names

let smallSpec = { ResNet.resnet18 with Width = 8; Stages = 4; BlocksPerStage = 1 }

[<Tests>]
let tests =
    testList "Nn" [
        // ---------------------------------------------------------------------- linear and convolution

        test "linear matches x Wt + b" {
            use scope = DisposalScope.Open()
            use g = generator 1
            let x, w, b = randn g [ 2; 3; 4 ], randn g [ 5; 4 ], randn g [ 5 ]
            let xv, wv, bv = values x, values w, values b
            let expected =
                Array.init (6 * 5) (fun k ->
                    let row, o = k / 5, k % 5
                    bv.[o] + Seq.sum (seq { for i in 0 .. 3 -> xv.[row * 4 + i] * wv.[o * 4 + i] }))
            let y = F.linear w (Some b) x
            assertShape [ 2; 3; 5 ] y
            assertValues expected y
        }

        test "conv2d matches explicit loops" {
            use scope = DisposalScope.Open()
            use g = generator 2
            // (stride, padding, dilation, groups) covering each option on its own and together.
            for stride, pad, dil, groups in [ 1, 0, 1, 1; 2, 1, 1, 1; 1, 2, 2, 1; 2, 1, 1, 2; 1, 1, 2, 2 ] do
                let x = randn g [ 2; 4; 7; 6 ]
                let w = randn g [ 6; 4 / groups; 3; 3 ]
                let b = randn g [ 6 ]
                let expected, shape = conv2dReference (values x) x.Shape (values w) w.Shape (Some(values b)) stride pad dil groups
                let y = F.conv2d { Stride = stride; Padding = pad; Dilation = dil; Groups = groups } w (Some b) x
                assertShape (List.ofArray shape) y
                assertValues expected y
        }

        test "conv2d without bias matches explicit loops" {
            use scope = DisposalScope.Open()
            use g = generator 3
            let x, w = randn g [ 1; 2; 5; 5 ], randn g [ 3; 2; 2; 2 ]
            let expected, _ = conv2dReference (values x) x.Shape (values w) w.Shape None 1 0 1 1
            assertValues expected (F.conv2d Conv2dOptions.Defaults w None x)
        }

        test "convTranspose2d matches scatter loops" {
            use scope = DisposalScope.Open()
            use g = generator 4
            for stride, pad, outPad, dil, groups in [ 1, 0, 0, 1, 1; 2, 1, 1, 1, 1; 2, 0, 0, 2, 2; 3, 1, 2, 1, 1 ] do
                let x = randn g [ 2; 4; 3; 4 ]
                let w = randn g [ 4; 6 / groups; 3; 3 ]
                let b = randn g [ 6 ]
                let expected, shape =
                    convTranspose2dReference (values x) x.Shape (values w) w.Shape (values b) stride pad outPad dil groups
                let options: ConvTranspose2dOptions =
                    { Stride = stride; Padding = pad; OutputPadding = outPad; Dilation = dil; Groups = groups }
                let y = F.convTranspose2d options w (Some b) x
                assertShape (List.ofArray shape) y
                assertValues expected y
        }

        test "conv2d rejects misuse naming the argument" {
            use scope = DisposalScope.Open()
            use g = generator 5
            let w = randn g [ 4; 3; 3; 3 ]
            throwsNaming "conv2d: x must be 4-D" (fun () -> F.conv2d Conv2dOptions.Defaults w None (randn g [ 3; 8; 8 ]) |> ignore)
            throwsNaming "conv2d: x has 2 channels" (fun () -> F.conv2d Conv2dOptions.Defaults w None (randn g [ 1; 2; 8; 8 ]) |> ignore)
            throwsNaming "bias must have shape [4]" (fun () -> F.conv2d Conv2dOptions.Defaults w (Some(randn g [ 3 ])) (randn g [ 1; 3; 8; 8 ]) |> ignore)
            throwsNaming "stride must be positive" (fun () -> F.conv2d { Conv2dOptions.Defaults with Stride = 0 } w None (randn g [ 1; 3; 8; 8 ]) |> ignore)
            throwsNaming "linear: x's last dimension (3)" (fun () -> F.linear (randn g [ 2; 4 ]) None (randn g [ 5; 3 ]) |> ignore)
        }

        test "batchNorm training uses batch stats and updates running stats; eval uses running stats" {
            use scope = DisposalScope.Open()
            use g = generator 6
            let x = randn g [ 4; 3; 2; 5 ] * 2.0 + 1.0
            let w, b = randn g [ 3 ], randn g [ 3 ]
            let rmInit, rvInit = [| 0.5; -1.0; 2.0 |], [| 1.0; 2.0; 0.5 |]
            let rm, rv = tensor [ 3 ] rmInit, tensor [ 3 ] rvInit
            let momentum, eps = 0.2, 1e-5
            let xv, wv, bv, s = values x, values w, values b, x.Shape
            let stats = channelStats xv s
            let normalised (mean: int -> float) (var: int -> float) =
                xv |> Array.mapi (fun k e ->
                    let c = (k / (s.[2] * s.[3])) % s.[1]
                    (e - mean c) / sqrt (var c + eps) * wv.[c] + bv.[c])
            let train = F.batchNorm true momentum eps (Some rm) (Some rv) (Some w) (Some b) x
            assertValues (normalised (fun c -> let m, _, _ = stats.[c] in m) (fun c -> let _, v, _ = stats.[c] in v)) train
            // The running variance takes the unbiased batch variance, the output the biased one.
            let rmNew = Array.init 3 (fun c -> let m, _, _ = stats.[c] in (1.0 - momentum) * rmInit.[c] + momentum * m)
            let rvNew = Array.init 3 (fun c -> let _, _, u = stats.[c] in (1.0 - momentum) * rvInit.[c] + momentum * u)
            assertValues rmNew rm
            assertValues rvNew rv
            let eval = F.batchNorm false momentum eps (Some rm) (Some rv) (Some w) (Some b) x
            assertValues (normalised (fun c -> rmNew.[c]) (fun c -> rvNew.[c])) eval
            assertValues rmNew rm
            throwsNaming "evaluation mode needs runningMean" (fun () -> F.batchNorm false 0.1 eps None None None None x |> ignore)
            throwsNaming "runningMean must have shape [3]" (fun () -> F.batchNorm true 0.1 eps (Some(randn g [ 4 ])) (Some rv) None None x |> ignore)
        }

        test "groupNorm and instanceNorm match the formula" {
            use scope = DisposalScope.Open()
            use g = generator 7
            let x = randn g [ 2; 6; 3; 4 ] * 3.0 - 1.0
            let w, b = randn g [ 6 ], randn g [ 6 ]
            for groups in [ 1; 2; 3; 6 ] do
                assertValues (groupNormReference (values x) x.Shape groups (values w) (values b) 1e-5) (F.groupNorm groups 1e-5 (Some w) (Some b) x)
            assertValues (groupNormReference (values x) x.Shape 6 (values w) (values b) 1e-5) (F.instanceNorm 1e-5 (Some w) (Some b) x)
            throwsNaming "channels (6) must be divisible by groups (4)" (fun () -> F.groupNorm 4 1e-5 None None x |> ignore)
        }

        // ---------------------------------------------------------------------- pooling

        test "maxPool2d and avgPool2d match window loops" {
            use scope = DisposalScope.Open()
            use g = generator 8
            let x = randn g [ 2; 3; 7; 6 ]
            for kernel, stride, pad in [ 2, 2, 0; 3, 2, 1; 3, 1, 1 ] do
                let expectedMax, shape = pool2dReference true (values x) x.Shape kernel stride pad
                let expectedAvg, _ = pool2dReference false (values x) x.Shape kernel stride pad
                let ym = F.maxPool2d kernel stride pad x
                assertShape (List.ofArray shape) ym
                assertValues expectedMax ym
                assertValues expectedAvg (F.avgPool2d kernel stride pad x)
        }

        test "adaptive pools match PyTorch's windows" {
            use scope = DisposalScope.Open()
            use g = generator 9
            let x = randn g [ 2; 3; 7; 5 ]
            for ho, wo in [ 1, 1; 3, 2; 7, 5; 4, 3 ] do
                assertValues (adaptivePoolReference List.average (values x) x.Shape ho wo) (F.adaptiveAvgPool2d (ho, wo) x)
                assertValues (adaptivePoolReference List.max (values x) x.Shape ho wo) (F.adaptiveMaxPool2d (ho, wo) x)
        }

        // ---------------------------------------------------------------------- resampling

        test "interpolate nearest x2 duplicates pixels" {
            use scope = DisposalScope.Open()
            use g = generator 10
            let x = randn g [ 2; 3; 4; 5 ]
            let xv = values x
            let expected = Array.init (2 * 3 * 8 * 10) (fun k ->
                let j, i, c, a = k % 10, (k / 10) % 8, (k / 80) % 3, k / 240
                xv.[idx4 x.Shape a c (i / 2) (j / 2)])
            let byScale = F.interpolate Interpolation.Nearest false (Resize.Scale 2.0) x
            assertShape [ 2; 3; 8; 10 ] byScale
            assertValues expected byScale
            assertValues expected (F.interpolate Interpolation.Nearest false (Resize.Size(8, 10)) x)
            // Downsampling by size picks input floor(i·in/out).
            let down = F.interpolate Interpolation.Nearest false (Resize.Size(2, 2)) x
            let expectedDown = Array.init (2 * 3 * 2 * 2) (fun k ->
                let j, i, c, a = k % 2, (k / 2) % 2, (k / 4) % 3, k / 12
                xv.[idx4 x.Shape a c (i * 4 / 2) (j * 5 / 2)])
            assertValues expectedDown down
            throwsNaming "alignCorners applies to bilinear" (fun () -> F.interpolate Interpolation.Nearest true (Resize.Scale 2.0) x |> ignore)
        }

        test "interpolate bilinear matches the formula with and without alignCorners" {
            use scope = DisposalScope.Open()
            use g = generator 11
            let x = randn g [ 1; 2; 3; 4 ]
            let xv, s = values x, x.Shape
            for alignCorners in [ false; true ] do
                for ho, wo in [ 6, 8; 5, 7; 2, 3 ] do
                    let source i o size =
                        if alignCorners then (if o > 1 then float i * float (size - 1) / float (o - 1) else 0.0)
                        else max 0.0 ((float i + 0.5) * float size / float o - 0.5)
                    let expected = Array.init (2 * ho * wo) (fun k ->
                        let j, i, c = k % wo, (k / wo) % ho, k / (ho * wo)
                        let py, px = source i ho s.[2], source j wo s.[3]
                        // Neighbours past the last row/column repeat it (their weight is zero or the
                        // coordinate is clamped), as in the kernel.
                        let outside r q = if r < s.[2] && q < s.[3] then None else Some xv.[idx4 s 0 c (min r (s.[2] - 1)) (min q (s.[3] - 1))]
                        bilinearAt xv s 0 c px py outside)
                    let y = F.interpolate Interpolation.Bilinear alignCorners (Resize.Size(ho, wo)) x
                    assertShape [ 1; 2; ho; wo ] y
                    assertValues expected y
            // A x2 scale factor gives the same result as the doubled size.
            assertTensorClose
                (F.interpolate Interpolation.Bilinear false (Resize.Size(6, 8)) x)
                (F.interpolate Interpolation.Bilinear false (Resize.Scale 2.0) x)
        }

        test "gridSample with the identity grid returns the input" {
            use scope = DisposalScope.Open()
            use g = generator 12
            let x = randn g [ 2; 3; 5; 7 ]
            for mode in [ Interpolation.Bilinear; Interpolation.Nearest ] do
                for padding in [ GridPadding.Zeros; GridPadding.Border; GridPadding.Reflection ] do
                    assertTensorClose x (F.gridSample mode padding false (identityGrid 2 5 7) x)
        }

        test "gridSample bilinear matches the formula for every padding mode" {
            use scope = DisposalScope.Open()
            use g = generator 13
            let x = randn g [ 2; 2; 4; 5 ]
            // Points inside and well outside [-1, 1], where the padding modes differ.
            let grid = Tensor.uniform ([ 2; 3; 6; 2 ], -1.8, 1.8, g, Float64)
            for padding in [ GridPadding.Zeros; GridPadding.Border; GridPadding.Reflection ] do
                let expected = gridSampleReference padding (values x) x.Shape (values grid) grid.Shape
                assertValues expected (F.gridSample Interpolation.Bilinear padding false grid x)
        }

        test "gridSample nearest reads the nearest pixel and zero outside" {
            use scope = DisposalScope.Open()
            use g = generator 14
            let x = randn g [ 1; 1; 4; 4 ]
            let xv = values x
            // Pixel coordinates (px, py) → normalised (2p + 1)/size - 1; offsets of ±0.3 stay nearest.
            let points = [ 0.3, 0.2, Some(0, 0); 2.7, 1.2, Some(1, 3); 1.8, 3.1, Some(3, 2); -0.9, 1.0, None; 1.0, 4.6, None ]
            let grid = tensor [ 1; 1; points.Length; 2 ] [| for px, py, _ in points do yield! [ (2.0 * px + 1.0) / 4.0 - 1.0; (2.0 * py + 1.0) / 4.0 - 1.0 ] |]
            let expected = [| for _, _, cell in points -> match cell with Some (r, q) -> xv.[r * 4 + q] | None -> 0.0 |]
            assertValues expected (F.gridSample Interpolation.Nearest GridPadding.Zeros false grid x)
            throwsNaming "gridSample: grid must end in 2" (fun () -> F.gridSample Interpolation.Nearest GridPadding.Zeros false (randn g [ 1; 2; 2; 3 ]) x |> ignore)
        }

        test "pad constant reflect and replicate" {
            use scope = DisposalScope.Open()
            let row = tensor [ 1; 1; 4 ] [| 1.0; 2.0; 3.0; 4.0 |]
            assertValues [| 3.0; 2.0; 1.0; 2.0; 3.0; 4.0; 3.0 |] (F.pad PadMode.Reflect [ 2; 1 ] row)
            assertValues [| 1.0; 1.0; 1.0; 2.0; 3.0; 4.0; 4.0 |] (F.pad PadMode.Replicate [ 2; 1 ] row)
            assertValues [| 9.0; 1.0; 2.0; 3.0; 4.0; 9.0; 9.0 |] (F.pad (PadMode.Constant 9.0) [ 1; 2 ] row)
            let img = tensor [ 1; 1; 3; 3 ] [| 1.0 .. 9.0 |]
            // Index maps from padded to source coordinates, per mode.
            let reflect k = let k = abs k in if k > 2 then 4 - k else k
            let replicate k = min (max k 0) 2
            for mode, map in [ PadMode.Reflect, reflect; PadMode.Replicate, replicate ] do
                // pads: left 2, right 1, top 1, bottom 2.
                let expected = [| for i in -1 .. 4 do for j in -2 .. 3 -> float (map i * 3 + map j + 1) |]
                let y = F.pad mode [ 2; 1; 1; 2 ] img
                assertShape [ 1; 1; 6; 6 ] y
                assertValues expected y
            let constant = F.pad (PadMode.Constant -1.0) [ 1; 0; 0; 1 ] img
            assertValues [| -1.0; 1.0; 2.0; 3.0; -1.0; 4.0; 5.0; 6.0; -1.0; 7.0; 8.0; 9.0; -1.0; -1.0; -1.0; -1.0 |] constant
            throwsNaming "reflect padding 3 must be smaller" (fun () -> F.pad PadMode.Reflect [ 3; 0; 0; 0 ] img |> ignore)
            throwsNaming "pads must hold 2 values" (fun () -> F.pad PadMode.Replicate [ 1 ] img |> ignore)
        }

        // ---------------------------------------------------------------------- activations

        test "activations match their formulas" {
            use scope = DisposalScope.Open()
            use g = generator 15
            let x = randn g [ 3; 4 ] * 3.0
            let xv = values x
            let check (f: float -> float) (t: Tensor) = assertValues (Array.map f xv) t
            check (fun v -> max v 0.0) (F.relu x)
            check (fun v -> if v >= 0.0 then v else 0.1 * v) (F.leakyRelu 0.1 x)
            check (fun v -> if v > 0.0 then v else 1.5 * (exp v - 1.0)) (F.elu 1.5 x)
            check (fun v -> log (1.0 + exp (2.0 * v)) / 2.0) (F.softplus 2.0 20.0 x)
            check (fun v -> 1.0 / (1.0 + exp -v)) (F.sigmoid x)
            check Math.Tanh (F.tanh x)
            // Row-wise (dim 1) and column-wise (dim 0) normalisation.
            let softmaxRef dim =
                Array.init 12 (fun k ->
                    let i, j = k / 4, k % 4
                    let group = if dim = 1 then [ for q in 0 .. 3 -> xv.[i * 4 + q] ] else [ for r in 0 .. 2 -> xv.[r * 4 + j] ]
                    exp xv.[k] / List.sumBy exp group)
            assertValues (softmaxRef 1) (F.softmax 1 x)
            assertValues (softmaxRef 0) (F.softmax 0 x)
            assertValues (softmaxRef 1 |> Array.map log) (F.logSoftmax -1 x)
        }

        test "softplus is linear above the threshold and stable for large inputs" {
            use scope = DisposalScope.Open()
            let x = tensor [ 3 ] [| 30.0; 800.0; -800.0 |]
            assertValues [| 30.0; 800.0; 0.0 |] (F.softplus 1.0 20.0 x)
        }

        // ---------------------------------------------------------------------- dropout

        test "dropout is deterministic per seed, preserves the mean and is the identity in eval" {
            use scope = DisposalScope.Open()
            let x = Tensor.ones [ 200; 500 ]
            let p = 0.3
            let run seed =
                use g = generator seed
                F.dropout g p true x
            let a, a2, b = run 21, run 21, run 22
            Expect.equal (values a2) (values a) "values a2"
            Expect.notEqual (values b) (values a) "values b"
            let av = values a
            let keep = 1.0 / (1.0 - p)
            for v in av do Expect.isTrue (v = 0.0 || abs (v - keep) < 1e-6) (sprintf "dropout value %g is neither 0 nor 1/(1-p)" v)
            let zeroFraction = (av |> Array.filter ((=) 0.0) |> Array.length |> float) / float av.Length
            // 100k Bernoulli draws: standard error 0.0015, so 0.01 is > 6 sigma.
            Expect.isInRange zeroFraction (p - 0.01) (p + 0.01) "zeroFraction"
            Expect.isInRange (Array.average av) 0.985 1.015 "Array.average av"
            use g = generator 23
            let eval = F.dropout g p false x
            (eval :> IDisposable).Dispose()
            // The evaluation result is a separate handle: disposing it leaves x alive.
            Expect.isFalse x.IsDisposed "x.IsDisposed"
            assertValues (values x) (F.dropout g p false x)
            assertValues (Array.zeroCreate 100000) (F.dropout g 1.0 true x)
            throwsNaming "dropout: p must be in [0, 1]" (fun () -> F.dropout g 1.5 true x |> ignore)
        }

        test "regression losses match their formulas" {
            use scope = DisposalScope.Open()
            use g = generator 24
            let a, b = randn g [ 3; 5 ], randn g [ 3; 5 ]
            let d = Array.map2 (-) (values a) (values b)
            let beta = 0.7
            for reduction in [ Reduction.None; Reduction.Mean; Reduction.Sum ] do
                assertValues (reduce reduction (d |> Array.map (fun e -> e * e))) (F.mseLoss reduction a b)
                assertValues (reduce reduction (d |> Array.map abs)) (F.l1Loss reduction a b)
                let huber e = if abs e < beta then 0.5 * e * e / beta else abs e - 0.5 * beta
                assertValues (reduce reduction (d |> Array.map huber)) (F.smoothL1Loss beta reduction a b)
            throwsNaming "mseLoss: target shape [5, 3] differs" (fun () -> F.mseLoss Reduction.Mean a (randn g [ 5; 3 ]) |> ignore)
        }

        test "classification losses match their formulas" {
            use scope = DisposalScope.Open()
            use g = generator 25
            let logits = randn g [ 4; 3 ] * 4.0
            let targets = Tensor.rand ([ 4; 3 ], g, Float64)
            let zv, yv = values logits, values targets
            let bce = Array.map2 (fun z y -> -(y * log (1.0 / (1.0 + exp -z)) + (1.0 - y) * log (1.0 - 1.0 / (1.0 + exp -z)))) zv yv
            let classes = Tensor.ofArray ([| 2L; 0L; 1L; 2L |], [ 4 ])
            let ce =
                Array.init 4 (fun n ->
                    let row = zv.[n * 3 .. n * 3 + 2]
                    log (Array.sumBy exp row) - row.[int (classes.ToInt64s().[n])])
            for reduction in [ Reduction.None; Reduction.Mean; Reduction.Sum ] do
                assertValues (reduce reduction bce) (F.binaryCrossEntropyWithLogits reduction logits targets)
                assertValues (reduce reduction ce) (F.crossEntropy reduction logits classes)
            // Spatial targets: logits (N, C, H, W), one class per pixel.
            let maps = randn g [ 2; 3; 2; 2 ]
            let pixelClasses = Tensor.randint (0L, 3L, [ 2; 2; 2 ], g)
            let mv, cv = values maps, pixelClasses.ToInt64s()
            let perPixel =
                Array.init 8 (fun k ->
                    let n, pix = k / 4, k % 4
                    let z c = mv.[(n * 3 + c) * 4 + pix]
                    log (List.sumBy (z >> exp) [ 0; 1; 2 ]) - z (int cv.[k]))
            assertValues perPixel (F.crossEntropy Reduction.None maps pixelClasses)
            throwsNaming "crossEntropy: target must be int64" (fun () -> F.crossEntropy Reduction.Mean logits (randn g [ 4 ]) |> ignore)
            throwsNaming "target must have shape [4]" (fun () -> F.crossEntropy Reduction.Mean logits (Tensor.zeros ([ 3 ], Int64)) |> ignore)
        }

        // ---------------------------------------------------------------------- gradients (float64)

        test "gradients of conv2d and convTranspose2d match finite differences" {
            use scope = DisposalScope.Open()
            use g = generator 30
            let x, w, b = randn g [ 1; 2; 5; 4 ], randn g [ 3; 2; 3; 3 ], randn g [ 3 ]
            let options = { Conv2dOptions.Defaults with Stride = 2; Padding = 1 }
            let score = weightedSum g [| 1; 3; 3; 2 |]
            gradcheck "conv2d/x" (fun x -> F.conv2d options w (Some b) x |> score) x
            gradcheck "conv2d/weight" (fun w -> F.conv2d options w (Some b) x |> score) w
            gradcheck "conv2d/bias" (fun b -> F.conv2d options w (Some b) x |> score) b
            let wt = randn g [ 2; 2; 3; 3 ]
            let toptions = { ConvTranspose2dOptions.Defaults with Stride = 2; Padding = 1; OutputPadding = 1 }
            let tscore = weightedSum g [| 1; 2; 10; 8 |]
            gradcheck "convTranspose2d/x" (fun x -> F.convTranspose2d toptions wt None x |> tscore) x
            gradcheck "convTranspose2d/weight" (fun wt -> F.convTranspose2d toptions wt None x |> tscore) wt
        }

        test "gradient of linear matches finite differences" {
            use scope = DisposalScope.Open()
            use g = generator 31
            let x, w, b = randn g [ 3; 4 ], randn g [ 2; 4 ], randn g [ 2 ]
            let score = weightedSum g [| 3; 2 |]
            gradcheck "linear/x" (fun x -> F.linear w (Some b) x |> score) x
            gradcheck "linear/weight" (fun w -> F.linear w (Some b) x |> score) w
            gradcheck "linear/bias" (fun b -> F.linear w (Some b) x |> score) b
        }

        test "gradients of bilinear gridSample match finite differences" {
            use scope = DisposalScope.Open()
            use g = generator 32
            let x = randn g [ 1; 2; 4; 5 ]
            let grid = Tensor.uniform ([ 1; 3; 3; 2 ], -1.2, 1.2, g, Float64)
            let score = weightedSum g [| 1; 2; 3; 3 |]
            for padding in [ GridPadding.Zeros; GridPadding.Border; GridPadding.Reflection ] do
                gradcheck (sprintf "gridSample/x/%A" padding) (fun x -> F.gridSample Interpolation.Bilinear padding false grid x |> score) x
                gradcheck (sprintf "gridSample/grid/%A" padding) (fun grid -> F.gridSample Interpolation.Bilinear padding false grid x |> score) grid
        }

        test "gradients of normalisations match finite differences" {
            use scope = DisposalScope.Open()
            use g = generator 33
            let x, w, b = randn g [ 2; 4; 2; 3 ], randn g [ 4 ], randn g [ 4 ]
            let score = weightedSum g x.Shape
            gradcheck "groupNorm/x" (fun x -> F.groupNorm 2 1e-5 (Some w) (Some b) x |> score) x
            gradcheck "groupNorm/weight" (fun w -> F.groupNorm 2 1e-5 (Some w) (Some b) x |> score) w
            gradcheck "instanceNorm/x" (fun x -> F.instanceNorm 1e-5 (Some w) (Some b) x |> score) x
            // Fresh running statistics per evaluation: training mode updates them in place.
            let train x = F.batchNorm true 0.1 1e-5 (Some(Tensor.zeros ([ 4 ], Float64))) (Some(Tensor.ones ([ 4 ], Float64))) (Some w) (Some b) x
            gradcheck "batchNorm/x" (train >> score) x
        }

        test "gradients of activations match finite differences" {
            use scope = DisposalScope.Open()
            use g = generator 34
            let x = randn g [ 3; 4 ] * 2.0
            let score = weightedSum g x.Shape
            gradcheck "softmax" (F.softmax 1 >> score) x
            gradcheck "logSoftmax" (F.logSoftmax 0 >> score) x
            gradcheck "softplus" (F.softplus 1.5 20.0 >> score) x
            gradcheck "elu" (F.elu 1.0 >> score) x
            gradcheck "sigmoid" (F.sigmoid >> score) x
        }

        test "gradients of losses match finite differences" {
            use scope = DisposalScope.Open()
            use g = generator 35
            let a, b = randn g [ 3; 4 ], randn g [ 3; 4 ]
            gradcheck "smoothL1" (fun a -> F.smoothL1Loss 0.8 Reduction.Mean a b) a
            gradcheck "mse" (fun a -> F.mseLoss Reduction.Sum a b) a
            let targets = Tensor.rand ([ 3; 4 ], g, Float64)
            gradcheck "bceWithLogits/logits" (fun z -> F.binaryCrossEntropyWithLogits Reduction.Mean z targets) a
            gradcheck "bceWithLogits/target" (fun t -> F.binaryCrossEntropyWithLogits Reduction.Sum a t) targets
            let classes = Tensor.ofArray ([| 3L; 0L; 1L |], [ 3 ])
            gradcheck "crossEntropy/mean" (fun z -> F.crossEntropy Reduction.Mean z classes) a
            let score = weightedSum g [| 3 |]
            gradcheck "crossEntropy/none" (fun z -> F.crossEntropy Reduction.None z classes |> score) a
        }

        test "default init draws weights and biases from U(±1/sqrt fanIn)" {
            use scope = DisposalScope.Open()
            use g = generator 40
            let check (name: string) (fanIn: int) (t: Tensor) =
                let bound = 1.0 / sqrt (float fanIn)
                let mean, std, maxAbs = stats t
                Expect.isTrue (maxAbs <= bound) (sprintf "%s: |value| %g exceeds the bound %g" name maxAbs bound)
                // Hundreds of uniform draws reach close to the bound (P(max < 0.9 bound) < 1e-13).
                Expect.isTrue (maxAbs > 0.9 * bound) (sprintf "%s: max |value| %g far below the bound %g" name maxAbs bound)
                if t.Numel > 10000 then
                    Expect.isInRange std (0.97 * bound / sqrt 3.0) (1.03 * bound / sqrt 3.0) "std"
                    Expect.isInRange mean (-0.02 * bound) (0.02 * bound) "mean"
            let linear = Linear.create g Init.Default 400 300
            check "linear.weight" 400 linear.Weight
            check "linear.bias" 400 linear.Bias.Value
            let conv = Conv2d.create g { Conv2d.spec 16 300 3 with Padding = 1 }
            check "conv.weight" (16 * 9) conv.Weight
            check "conv.bias" (16 * 9) conv.Bias.Value
            // PyTorch reads a transposed weight (In, Out, k, k) with fanIn = Out·k².
            let tconv = ConvTranspose2d.create g (ConvTranspose2d.spec 300 16 3)
            check "convTranspose.weight" (16 * 9) tconv.Weight
            check "convTranspose.bias" (16 * 9) tconv.Bias.Value
        }

        test "kaiming normal init has std sqrt(2 / fan) and zero bias" {
            use scope = DisposalScope.Open()
            use g = generator 41
            let linear = Linear.create g (Init.KaimingNormal FanMode.FanIn) 512 128
            let _, std, _ = stats linear.Weight
            Expect.isInRange std (0.97 * sqrt (2.0 / 512.0)) (1.03 * sqrt (2.0 / 512.0)) "std"
            for v in values linear.Bias.Value do Expect.equal v 0.0 "v"
            let conv = Conv2d.create g { Conv2d.spec 32 64 3 with Init = Init.KaimingNormal FanMode.FanOut; Bias = false }
            let _, std, _ = stats conv.Weight
            Expect.isInRange std (0.97 * sqrt (2.0 / (64.0 * 9.0))) (1.03 * sqrt (2.0 / (64.0 * 9.0))) "std"
            Expect.isTrue conv.Bias.IsNone "conv.Bias.IsNone"
        }

        test "same seed gives identical weights, a different seed different ones" {
            use scope = DisposalScope.Open()
            let build seed =
                use g = generator seed
                let spec = { ResNet.resnet18 with Width = 4; Stages = 2; BlocksPerStage = 1; Stem = Stem.Small }
                let enc = ResNet.create g spec
                let mlp = Mlp.create g (Mlp.spec [ 8; 16; 3 ])
                ResNet.parameters enc @ Mlp.parameters mlp
            let a, a2, b = build 5, build 5, build 6
            for (na, ta), (na2, ta2), (nb, tb) in List.zip3 a a2 b do
                Expect.equal na2 na "na2"
                Expect.equal nb na "nb"
                Expect.equal (values ta2) (values ta) "values ta2"
                // Norm scales and shifts are constants (1 and 0); only drawn tensors depend on the seed.
                if na.EndsWith "weight" && not (na.Contains "norm") then Expect.notEqual (values tb) (values ta) "values tb"
        }

        test "MLP with a zero last layer outputs exactly zero and still has gradients" {
            use scope = DisposalScope.Open()
            use g = generator 42
            let spec = { Mlp.spec [ 10; 128; 128; 128; 7 ] with Init = Init.KaimingNormal FanMode.FanIn; LastInit = Init.Zeros }
            let mlp = Mlp.create g spec
            Expect.equal mlp.Layers.Length 4 "mlp.Layers.Length"
            let last = List.last mlp.Layers
            for v in values last.Weight do Expect.equal v 0.0 "v"
            for v in values last.Bias.Value do Expect.equal v 0.0 "v"
            // Hidden layers are Kaiming normal with zero bias.
            let _, std, _ = stats mlp.Layers.[1].Weight
            Expect.isInRange std (0.9 * sqrt (2.0 / 128.0)) (1.1 * sqrt (2.0 / 128.0)) "std"
            for v in values mlp.Layers.[0].Bias.Value do Expect.equal v 0.0 "v"
            let x = Tensor.randn ([ 5; 10 ], g)
            let y = Mlp.apply mlp x
            assertShape [ 5; 7 ] y
            for v in values y do Expect.equal v 0.0 "v"
            // The zero layer still learns: its weight gradient is the hidden activations, not zero.
            y.sum().backward ()
            Expect.isTrue (values last.Weight.Grad.Value |> Array.exists (fun v -> v <> 0.0)) "last layer weight gradient is all zero"
        }

        test "MLP applies the activation between layers only" {
            use scope = DisposalScope.Open()
            use g = generator 43
            let mlp = Mlp.create g { Mlp.spec [ 3; 4; 2 ] with Activation = Activation.Tanh }
            let x = Tensor.randn ([ 5; 3 ], g)
            let l0, l1 = mlp.Layers.[0], mlp.Layers.[1]
            let hidden = (x.matmul l0.Weight.mT + l0.Bias.Value).tanh ()
            let expected = hidden.matmul l1.Weight.mT + l1.Bias.Value
            assertTensorClose expected (Mlp.apply mlp x)
            Expect.equal (Mlp.parameters mlp |> List.map fst) [ "layers.0.weight"; "layers.0.bias"; "layers.1.weight"; "layers.1.bias" ] "Mlp.parameters mlp |> List.map fst"
        }

        test "ResNet encoder gives a feature vector for 32, 64 and 128 px inputs" {
            use scope = DisposalScope.Open()
            use g = generator 50
            for norm in [ NormKind.Batch; NormKind.Group 4 ] do
                let enc = ResNet.create g { smallSpec with Norm = norm }
                Expect.equal enc.FeatureDim 64 "enc.FeatureDim"
                for size in [ 32; 64; 128 ] do
                    let x = Tensor.rand ([ 2; 3; size; size ], g)
                    assertShape [ 2; 64 ] (ResNet.apply true enc x)
                    assertShape [ 2; 64 ] (ResNet.apply false enc x)
                    // ImageNet stem /4, then three stride-2 stages: /32 overall.
                    assertShape [ 2; 64; size / 32; size / 32 ] (ResNet.features false enc x)
            let small = ResNet.create g { smallSpec with Stem = Stem.Small; Stages = 3; BlocksPerStage = 2 }
            let x = Tensor.rand ([ 2; 3; 32; 32 ], g)
            assertShape [ 2; 32; 8; 8 ] (ResNet.features true small x)
            assertShape [ 2; 32 ] (ResNet.apply true small x)
        }

        test "ResNet parameters: unique dotted names, leaves with gradients, counts by hand" {
            use scope = DisposalScope.Open()
            use g = generator 51
            let enc = ResNet.create g { smallSpec with Width = 4; Stages = 2; Stem = Stem.Small }
            let ps, bs = ResNet.parameters enc, ResNet.buffers enc
            Named.checkUnique (ps @ bs)
            // stem conv 3·4·9 + norm 2·4; stage1 block0 (4→4): 2·(4·4·9 + 8);
            // stage2 block0 (4→8, stride 2): 4·8·9 + 16 + 8·8·9 + 16 + shortcut 4·8 + 16.
            Expect.equal (Named.count ps) (108L + 8L + 304L + 944L) "Named.count ps"
            Expect.equal ps.Length 18 "ps.Length"
            Expect.equal bs.Length 12 "bs.Length"
            for name in [ "stem.conv.weight"; "stage1.block0.conv1.weight"; "stage1.block0.norm2.bias"
                          "stage2.block0.shortcut.conv.weight"; "stage2.block0.shortcut.norm.weight" ] do
                Expect.contains (ps |> List.map fst) name "ps |> List.map fst"
            Expect.contains (bs |> List.map fst) "stage2.block0.shortcut.norm.running_var" "bs |> List.map fst"
            Expect.doesNotContain (ps |> List.map fst) "stage1.block0.shortcut.conv.weight" "ps |> List.map fst"
            for name, t in ps do
                Expect.isTrue (t.IsLeaf && t.RequiresGrad) (sprintf "%s is not a leaf requiring gradients" name)
            for name, t in bs do
                Expect.isFalse t.RequiresGrad (sprintf "buffer %s requires gradients" name)
            let prefixed = ps |> Named.prefix "encoder"
            Expect.equal (fst prefixed.Head) "encoder.stem.conv.weight" "fst prefixed.Head"
            // Group norm has no buffers.
            Expect.isEmpty (ResNet.buffers (ResNet.create g { smallSpec with Norm = NormKind.Group 2 })) "ResNet.buffers (ResNet.create g { smallSpec with Norm = NormKind.Grou..."
        }

        test "ResNet-18 has torchvision's parameter count" {
            use scope = DisposalScope.Open()
            use g = generator 52
            let enc = ResNet.create g ResNet.resnet18
            // torchvision resnet18: 11,689,512 parameters, of which the classifier has 512·1000 + 1000.
            Expect.equal (Named.count (ResNet.parameters enc)) (11689512L - 513000L) "Named.count (ResNet.parameters enc)"
            Expect.equal enc.FeatureDim 512 "enc.FeatureDim"
            Named.checkUnique (ResNet.parameters enc @ ResNet.buffers enc)
        }

        test "ResNet training updates running stats, backward reaches every parameter" {
            use scope = DisposalScope.Open()
            use g = generator 53
            let enc = ResNet.create g { smallSpec with Width = 4; Stages = 2; Stem = Stem.Small }
            let before = ResNet.buffers enc |> List.map (snd >> values)
            let x = Tensor.rand ([ 3; 3; 16; 16 ], g)
            let evalOut = values (ResNet.apply false enc x)
            List.iter2 (fun b (_, t) -> Expect.equal (values t) b "values t") before (ResNet.buffers enc)
            let y = ResNet.apply true enc x
            (y * y).sum().backward ()
            List.iter2 (fun b (name, t) -> Expect.isTrue (b <> values t) (sprintf "%s did not change in training" name)) before (ResNet.buffers enc)
            for name, p in ResNet.parameters enc do
                match p.Grad with
                | Some grad -> Expect.isTrue (values grad |> Array.forall Double.IsFinite) (sprintf "%s has a non-finite gradient" name)
                | None -> failwithf "%s received no gradient" name
            // Evaluation now reads the updated statistics, so its output changes.
            Expect.notEqual (values (ResNet.apply false enc x)) evalOut "values (ResNet.apply false enc x)"
        }

        test "zero-initialised residuals make every block start as relu of its shortcut" {
            use scope = DisposalScope.Open()
            use g = generator 54
            let enc = ResNet.create g { smallSpec with Width = 4; Stages = 1; BlocksPerStage = 2; Stem = Stem.Small; ZeroInitResidual = true }
            let x = Tensor.randn ([ 2; 4; 6; 6 ], g)
            let block = enc.Stages.Head.Head
            // No shortcut projection at equal width and stride 1, so the block is relu(x).
            assertTensorClose (F.relu x) (BasicBlock.apply true block x)
        }

        test "BatchNorm2d layer updates its buffers in training only" {
            use scope = DisposalScope.Open()
            use g = generator 55
            let bn = BatchNorm2d.create 3
            let x = Tensor.randn ([ 4; 3; 2; 2 ], g) + 2.0
            let _ = BatchNorm2d.apply false bn x
            assertValues [| 0.0; 0.0; 0.0 |] bn.RunningMean
            let _ = BatchNorm2d.apply true bn x
            let means = channelStats (values x) x.Shape |> Array.map (fun (m, _, _) -> 0.1 * m)
            assertClose 1e-6 1e-5 means (values bn.RunningMean)
            Expect.equal (BatchNorm2d.parameters bn |> List.map fst) [ "weight"; "bias" ] "BatchNorm2d.parameters bn |> List.map fst"
            Expect.equal (BatchNorm2d.buffers bn |> List.map fst) [ "running_mean"; "running_var" ] "BatchNorm2d.buffers bn |> List.map fst"
        }

        testSequenced <| test "layers free their intermediates" {
            use outer = DisposalScope.Open()
            use g = generator 56
            let enc = ResNet.create g { smallSpec with Width = 4; Stages = 2 }
            let mlp = Mlp.create g (Mlp.spec [ 16; 8; 2 ])
            let x = Tensor.rand ([ 2; 3; 32; 32 ], g)
            let run () =
                use scope = DisposalScope.Open()
                let y = ResNet.apply true enc x
                y.sum().backward ()
                (Mlp.apply mlp (Tensor.rand ([ 2; 16 ], g))).sum().backward ()
            run ()
            let live = settledLiveCount ()
            for _ in 1 .. 3 do run ()
            Expect.equal Tensor.LiveCount live "Tensor.LiveCount"
        }
    ]
