/// Unsup3d's losses (`Stages.Unsup3dLoss`) and depth metrics (`Eval.DepthMetrics`,
/// `Stages.Unsup3dEval`) against brute-force references written here as loops over float64
/// arrays; the losses' gradients against finite differences in float64.
module Reconstruct.Tests.Unsup3dLossTests

open System
open Expecto
open Reconstruct.Torch
open Reconstruct.Stages
open Reconstruct.Eval
open Reconstruct.Tests.TestHelpers

let private host (t: Tensor) = t.ToFloat64s()
let private scalar (t: Tensor) = t.ToScalar()

/// Values U(low, high) from System.Random (not the code under test), float64.
let private uniform (seed: int) (low: float) (high: float) (shape: int list) =
    let r = Random(seed)
    Tensor.ofArray (Array.init (List.reduce (*) shape) (fun _ -> low + (high - low) * r.NextDouble()), shape)

/// A mask of 0, 1 and a few 0.5 weights, float64, with at least one covered pixel per image.
let private partialMask (seed: int) (b: int) (h: int) (w: int) =
    let r = Random(seed)
    let values = Array.init (b * h * w) (fun k -> if k % (h * w) = 0 then 1.0 else [| 0.0; 1.0; 1.0; 0.5 |].[r.Next 4])
    Tensor.ofArray (values, [ b; h; w ])

/// Loaded once, outside any disposal scope, and cast to float64 for the loop references and
/// the gradient checks.
let private network =
    lazy
        (let loaded = Perceptual.load (Perceptual.defaultPath ())
         let cast = Perceptual.cast Float64 loaded
         Perceptual.dispose loaded
         cast)

// ---------------------------------------------------------------------- loop references

/// Σ ℓ(b, c, i, j)·M(b, i, j) / Σ M(b, i, j) over b, c, i, j, so the denominator counts channels.
let private maskedMeanLoop (b: int) (c: int) (h: int) (w: int) (loss: int -> int -> int -> int -> float) (mask: int -> int -> int -> float) =
    let mutable num, den = 0.0, 0.0
    for n in 0 .. b - 1 do
        for ch in 0 .. c - 1 do
            for i in 0 .. h - 1 do
                for j in 0 .. w - 1 do
                    num <- num + loss n ch i j * mask n i j
                    den <- den + mask n i j
    num / den

let private photometricLoop (recon: float[]) (target: float[]) (sigma: float[] option) (mask: float[]) (b: int) (c: int) (h: int) (w: int) =
    let loss n ch i j =
        let e = abs (recon.[((n * c + ch) * h + i) * w + j] - target.[((n * c + ch) * h + i) * w + j])
        match sigma with
        | Some s ->
            let s = s.[(n * h + i) * w + j] + 1e-7
            sqrt 2.0 * e / s + log s
        | None -> e
    maskedMeanLoop b c h w loss (fun n i j -> mask.[(n * h + i) * w + j])

/// The mean of each (H/h) × (W/w) block.
let private poolLoop (mask: float[]) (b: int) (hm: int) (wm: int) (h: int) (w: int) =
    let sh, sw = hm / h, wm / w
    Array.init (b * h * w) (fun k ->
        let n, i, j = k / (h * w), (k % (h * w)) / w, k % w
        let mutable total = 0.0
        for di in 0 .. sh - 1 do
            for dj in 0 .. sw - 1 do
                total <- total + mask.[(n * hm + i * sh + di) * wm + j * sw + dj]
        total / float (sh * sw))

/// The perceptual NLL from feature arrays (B, C, h, w) and the mask pooled by loops.
let private perceptualLoop (fr: float[]) (ft: float[]) (sigma: float[] option) (pooled: float[]) (b: int) (c: int) (h: int) (w: int) =
    let loss n ch i j =
        let k = ((n * c + ch) * h + i) * w + j
        let sq = (fr.[k] - ft.[k]) ** 2.0
        match sigma with
        | Some s ->
            let s = s.[(n * h + i) * w + j]
            sq / (2.0 * s * s + 1e-7) + log (s + 1e-7)
        | None -> sq
    maskedMeanLoop b c h w loss (fun n i j -> pooled.[(n * h + i) * w + j])

/// Unsup3d's camera written from the spec: P = d·((u − c)/f, (v − c)/f, 1), c = (S − 1)/2,
/// u the column; normals from central differences, (0, 0, 1) on the border.
let private normalsLoop (focal: float) (depth: float[]) (b: int) (s: int) =
    let c = float (s - 1) / 2.0
    let point n i j =
        let d = depth.[(n * s + i) * s + j]
        [| d * (float j - c) / focal; d * (float i - c) / focal; d |]
    Array.init (b * s * s) (fun k ->
        let n, i, j = k / (s * s), (k % (s * s)) / s, k % s
        if i = 0 || j = 0 || i = s - 1 || j = s - 1 then [| 0.0; 0.0; 1.0 |]
        else
            let a = Array.map2 (-) (point n i (j + 1)) (point n i (j - 1))
            let v = Array.map2 (-) (point n (i + 1) j) (point n (i - 1) j)
            let x = [| a.[1] * v.[2] - a.[2] * v.[1]; a.[2] * v.[0] - a.[0] * v.[2]; a.[0] * v.[1] - a.[1] * v.[0] |]
            let norm = sqrt (Array.sumBy (fun e -> e * e) x)
            x |> Array.map (fun e -> e / norm))

/// Per image: Σ m·f / Σ m over the pixels with m > 0.
let private perImageLoop (b: int) (pixels: int) (mask: float[]) (f: int -> float) =
    Array.init b (fun n ->
        let ks = [ for p in 0 .. pixels - 1 do if mask.[n * pixels + p] > 0.0 then yield n * pixels + p ]
        (ks |> List.sumBy (fun k -> mask.[k] * f k)) / (ks |> List.sumBy (fun k -> mask.[k])))

let private sideLoop (predicted: float[]) (truth: float[]) (mask: float[]) (b: int) (pixels: int) =
    let delta k = log predicted.[k] - log truth.[k]
    let mu = perImageLoop b pixels mask delta
    perImageLoop b pixels mask (fun k -> (delta k - mu.[k / pixels]) ** 2.0) |> Array.map sqrt

let private madLoop (fp: float) (predicted: float[]) (ft: float) (truth: float[]) (mask: float[]) (b: int) (s: int) =
    let np, nt = normalsLoop fp predicted b s, normalsLoop ft truth b s
    perImageLoop b (s * s) mask (fun k ->
        let cosine = Array.map2 (*) np.[k] nt.[k] |> Array.sum
        Math.Acos(max -1.0 (min 1.0 cosine)) * 180.0 / Math.PI)

let private meanDepthLoop (depth: float[]) (mask: float[]) (n: int) (pixels: int) =
    let scale = perImageLoop n pixels mask (fun k -> depth.[k])
    Array.init pixels (fun p ->
        let mutable num, den = 0.0, 0.0
        for m in 0 .. n - 1 do
            let w = mask.[m * pixels + p]
            if w > 0.0 then
                num <- num + w * depth.[m * pixels + p] / scale.[m]
                den <- den + w
        if den > 0.0 then num / den else 1.0)

// ---------------------------------------------------------------------- tests

let private losses =
    [ test "photometric equals the loop reference with and without σ on a partial mask, ΣM counting every channel; gradients in recon and σ match finite differences" {
          use scope = DisposalScope.Open()
          let b, c, h, w = 2, 3, 5, 4
          let recon, target = uniform 1 -1.0 1.0 [ b; c; h; w ], uniform 2 -1.0 1.0 [ b; c; h; w ]
          let sigma = uniform 3 0.2 1.5 [ b; 1; h; w ]
          let mask = partialMask 4 b h w
          for s in [ Some sigma; None ] do
              let expected = photometricLoop (host recon) (host target) (Option.map host s) (host mask) b c h w
              Expect.floatClose Accuracy.veryHigh (scalar (Unsup3dLoss.photometric recon target s mask)) expected (sprintf "σ given: %b" s.IsSome)
          gradcheck "photometric w.r.t. recon" (fun r -> Unsup3dLoss.photometric r target (Some sigma) mask) recon
          gradcheck "photometric w.r.t. σ" (fun s -> Unsup3dLoss.photometric recon target (Some s) mask) sigma
          gradcheck "photometric w.r.t. recon, no σ" (fun r -> Unsup3dLoss.photometric r target None mask) recon
      }

      test "poolMask averages each block, a different factor per axis allowed; non-integral factors are refused" {
          use scope = DisposalScope.Open()
          // 8×8: top-left 4×4 block full, top-right block 4 pixels, bottom-left 8, bottom-right none.
          let values = Array2D.zeroCreate<float> 8 8
          for i in 0 .. 3 do
              for j in 0 .. 3 do values.[i, j] <- 1.0
          for i, j in [ 0, 4; 1, 5; 2, 6; 3, 7 ] do values.[i, j] <- 1.0
          for i in 4 .. 7 do
              for j in 0 .. 1 do values.[i, j] <- 1.0
          let mask = (Tensor.ofArray2D values).unsqueeze 0
          Expect.equal (host (Unsup3dLoss.poolMask 2 2 mask)) [| 1.0; 0.25; 0.5; 0.0 |] "4×4 blocks by hand"
          // Blocks of 4 rows × 2 columns.
          Expect.equal (host (Unsup3dLoss.poolMask 2 4 mask)) [| 1.0; 1.0; 0.25; 0.25; 1.0; 0.0; 0.0; 0.0 |] "4×2 blocks by hand"
          let e = Expect.catchT<ArgumentException> (fun () -> Unsup3dLoss.poolMask 3 3 mask |> ignore) "8 is not a multiple of 3"
          Expect.stringContains e.Message "8/3" "the message names the factor"
      }

      test "perceptual equals the loop reference on Layer1 features with and without σ; recon = target leaves only ln σ; gradients in recon and σ match finite differences" {
          let network = network.Force()
          use scope = DisposalScope.Open()
          let b, size = 2, 8
          let recon, target = uniform 5 -1.0 1.0 [ b; 3; size; size ], uniform 6 -1.0 1.0 [ b; 3; size; size ]
          let mask = partialMask 7 b size size
          // The features by the network (tested in PerceptualTests), of images mapped to [0, 1] here.
          let featuresOf (x: Tensor) = Perceptual.features network [ Perceptual.Layer.Layer1 ] (Tensor.ofArray (host x |> Array.map (fun v -> (v + 1.0) / 2.0), x.Shape)) |> List.head
          let fr, ft = featuresOf recon, featuresOf target
          Expect.equal fr.Shape [| b; 64; 2; 2 |] "Layer1 at H/4"
          let sigma = uniform 8 0.3 2.0 [ b; 1; 2; 2 ]
          let pooled = poolLoop (host mask) b size size 2 2
          for s in [ Some sigma; None ] do
              let expected = perceptualLoop (host fr) (host ft) (Option.map host s) pooled b 64 2 2
              Expect.floatClose Accuracy.veryHigh (scalar (Unsup3dLoss.perceptual network recon target s mask)) expected (sprintf "σ given: %b" s.IsSome)
          Expect.equal (scalar (Unsup3dLoss.perceptual network target target None mask)) 0.0 "no feature difference"
          let onlyLog = perceptualLoop (host ft) (host ft) (Some (host sigma)) pooled b 64 2 2
          Expect.floatClose Accuracy.veryHigh (scalar (Unsup3dLoss.perceptual network target target (Some sigma) mask)) onlyLog "the masked mean of ln(σ + ε)"
          gradcheck "perceptual w.r.t. recon" (fun r -> Unsup3dLoss.perceptual network r target (Some sigma) mask) recon
          gradcheck "perceptual w.r.t. σ" (fun s -> Unsup3dLoss.perceptual network recon target (Some s) mask) sigma
          let e = Expect.catchT<ArgumentException> (fun () -> Unsup3dLoss.perceptual network (uniform 9 -1.0 1.0 [ 1; 3; 14; 14 ]) (uniform 10 -1.0 1.0 [ 1; 3; 14; 14 ]) None (Tensor.ones ([ 1; 14; 14 ], Float64)) |> ignore) "14×14 gives 3×3 features"
          Expect.equal e.ParamName "recon" "names the images"
      }

      test "smoothness is (mean |∂d/∂i| + mean |∂d/∂j|) / (MaxDepth − MinDepth), as a loop computes; its gradient matches finite differences" {
          use scope = DisposalScope.Open()
          let b, h, w = 2, 4, 5
          let depth = uniform 11 0.9 1.1 [ b; h; w ]
          let d = host depth
          let at n i j = d.[(n * h + i) * w + j]
          let rows = [ for n in 0 .. b - 1 do for i in 0 .. h - 2 do for j in 0 .. w - 1 -> abs (at n (i + 1) j - at n i j) ] |> List.average
          let columns = [ for n in 0 .. b - 1 do for i in 0 .. h - 1 do for j in 0 .. w - 2 -> abs (at n i (j + 1) - at n i j) ] |> List.average
          let ranges = Unsup3d.Ranges.SynCar
          Expect.floatClose Accuracy.veryHigh (scalar (Unsup3dLoss.smoothness ranges depth)) ((rows + columns) / 0.2) "L_sm"
          Expect.equal (scalar (Unsup3dLoss.smoothness ranges (depth.fullLike 1.03))) 0.0 "a flat map"
          gradcheck "smoothness" (Unsup3dLoss.smoothness ranges) depth
      }

      test "mismatched shapes and dtypes fail with one line naming the argument and what was received" {
          use scope = DisposalScope.Open()
          let recon = Tensor.zeros ([ 2; 3; 4; 4 ], Float64)
          let mask = Tensor.ones ([ 2; 4; 4 ], Float64)
          let fails (arg: string) (received: string) (f: unit -> Tensor) =
              let e = Expect.catchT<ArgumentException> (f >> ignore) arg
              Expect.equal e.ParamName arg "the argument named"
              Expect.stringContains e.Message received "what was received"
              Expect.isFalse (e.Message.Contains '\n') "one line"
          fails "target" "[2, 3, 4, 5]" (fun () -> Unsup3dLoss.photometric recon (Tensor.zeros ([ 2; 3; 4; 5 ], Float64)) None mask)
          fails "sigma" "[2, 3, 4, 4]" (fun () -> Unsup3dLoss.photometric recon recon (Some recon) mask)
          fails "mask" "[2, 1, 4, 4]" (fun () -> Unsup3dLoss.photometric recon recon None (mask.unsqueeze 1))
          fails "mask" "float32" (fun () -> Unsup3dLoss.photometric recon recon None (mask.cast Float32))
          fails "depth" "[4, 4]" (fun () -> Unsup3dLoss.smoothness Unsup3d.Ranges.Faces (Tensor.zeros [ 4; 4 ]))
          fails "groundTruth" "[2, 4, 3]" (fun () -> DepthMetrics.side mask (Tensor.ones ([ 2; 4; 3 ], Float64)) mask)
          fails "mask" "[1, 4, 4]" (fun () -> Unsup3dEval.mad 100.0 mask 100.0 mask (mask.[0..0]))
          fails "predicted" "[2, 4, 3]" (fun () -> Unsup3dEval.mad 100.0 (mask.narrow (2, 0, 3)) 100.0 mask mask)
      } ]

let private metrics =
    [ test "erode shrinks a square by one pixel on each side; the image border erodes too (zero padding counts)" {
          use scope = DisposalScope.Open()
          let square = Array2D.init 12 12 (fun i j -> if i >= 3 && i <= 8 && j >= 2 && j <= 9 then 1.0 else 0.0)
          let eroded = DepthMetrics.erode ((Tensor.ofArray2D square).unsqueeze 0)
          let expected = Array.init 144 (fun k -> let i, j = k / 12, k % 12 in if i >= 4 && i <= 7 && j >= 3 && j <= 8 then 1.0 else 0.0)
          Expect.equal (host eroded) expected "rows 4..7, columns 3..8"
          let full = DepthMetrics.erode (Tensor.ones ([ 2; 5; 6 ], Float32))
          Expect.equal full.Dtype Float32 "the mask's dtype"
          let inner = Array.init 60 (fun k -> let i, j = (k % 30) / 6, k % 6 in if i >= 1 && i <= 3 && j >= 1 && j <= 4 then 1.0 else 0.0)
          Expect.equal (host full) inner "a full mask loses its outermost rows and columns"
          let soft = DepthMetrics.erode (Tensor.full ([ 1; 3; 3 ], 0.995, Float64))
          Expect.equal (host soft) [| 0.0; 0.0; 0.0; 0.0; 1.0; 0.0; 0.0; 0.0; 0.0 |] "> 0.99 of the 3×3 average"
      }

      test "side equals the loop reference, ignores the prediction's scale, is 0 for D = c·d*, never reads masked-out pixels, and is NaN on an empty mask" {
          use scope = DisposalScope.Open()
          let b, h, w = 3, 6, 7
          let predicted, truth = uniform 12 0.8 1.2 [ b; h; w ], uniform 13 0.9 1.1 [ b; h; w ]
          let mask = partialMask 14 b h w
          let value = host (DepthMetrics.side predicted truth mask)
          assertClose 1e-12 1e-10 (sideLoop (host predicted) (host truth) (host mask) b (h * w)) value
          Expect.isGreaterThan (Array.min value) 0.01 "not trivially 0"
          assertClose 1e-12 1e-10 value (host (DepthMetrics.side (predicted * 3.7) truth mask))
          assertClose 1e-12 0.0 (Array.zeroCreate b) (host (DepthMetrics.side (truth * 0.6) truth mask))
          // Outside the mask: 0 (ln 0 = −∞), negative (NaN) and huge values change nothing.
          let outside = mask.eq 0.0
          let junk = Tensor.where (outside, uniform 15 -5.0 1e6 [ b; h; w ], predicted)
          let junkTruth = Tensor.where (outside, truth.zerosLike (), truth)
          Expect.equal (host (DepthMetrics.side junk junkTruth mask)) value "masked-out pixels do not matter"
          let empty = Tensor.cat ([ mask.[0..0]; mask.[1..1].zerosLike (); mask.[2..2] ], 0)
          let withEmpty = host (DepthMetrics.side predicted truth empty)
          Expect.isTrue (Double.IsNaN withEmpty.[1]) "an empty mask gives NaN"
          Expect.equal [| withEmpty.[0]; withEmpty.[2] |] [| value.[0]; value.[2] |] "the other images unchanged"
      }

      test "mad equals the loop reference with two focals, is 0 for D = c·d* at one focal, and gives a tilted plane's tilt against a fronto-parallel one" {
          use scope = DisposalScope.Open()
          let b, s = 2, 9
          let predicted = 1.0 + uniform 16 -0.03 0.03 [ b; s; s ]
          let truth = 1.0 + uniform 17 -0.03 0.03 [ b; s; s ]
          let mask = partialMask 18 b s s
          let fp, ft = 60.0, 90.0
          let value = host (Unsup3dEval.mad fp predicted ft truth mask)
          assertClose 1e-9 1e-9 (madLoop fp (host predicted) ft (host truth) (host mask) b s) value
          Expect.isGreaterThan (Array.min value) 1.0 "not trivially 0"
          // arccos loses half the digits near 1: cos = 1 − 1e-16 is already 1e-6°.
          assertClose 1e-5 0.0 (Array.zeroCreate b) (host (Unsup3dEval.mad ft (truth * 1.3) ft truth mask))
          // The plane m·X = m·(0, 0, 1), tilted by acos(m_z/|m|) from the image plane: along the
          // ray K⁻¹[u, v, 1] its depth is m_z / (m·ray).
          let size = 16
          let focal = Unsup3d.focalLength Unsup3d.FovDegrees size
          let m = [| 0.3; -0.2; 1.0 |]
          let c = float (size - 1) / 2.0
          let plane = Array.init (size * size) (fun k -> m.[2] / (m.[0] * (float (k % size) - c) / focal + m.[1] * (float (k / size) - c) / focal + m.[2]))
          let interior = DepthMetrics.erode (Tensor.ones ([ 1; size; size ], Float64))
          let tilt = Math.Acos(m.[2] / sqrt (Array.sumBy (fun x -> x * x) m)) * 180.0 / Math.PI
          let flat = Tensor.full ([ 1; size; size ], 1.02, Float64)
          let measured = (Unsup3dEval.mad focal (Tensor.ofArray (plane, [ 1; size; size ])) focal flat interior).ToScalar()
          Expect.floatClose Accuracy.high measured tilt (sprintf "the plane's tilt, %.3f°" tilt)
      }

      test "meanDepth equals the loop reference (uncovered pixels 1, an empty mask ignored); identical maps give the map over its masked mean" {
          use scope = DisposalScope.Open()
          let n, h, w = 4, 5, 6
          let depth = uniform 19 0.9 1.1 [ n; h; w ]
          // Image 2 has an empty mask; column 0 is covered by no image.
          let mask = Tensor.ofArray (host (partialMask 20 n h w) |> Array.mapi (fun k v -> if k / (h * w) = 2 || k % w = 0 then 0.0 else v), [ n; h; w ])
          let expected = meanDepthLoop (host depth) (host mask) n (h * w)
          let actual = DepthMetrics.meanDepth depth mask
          Expect.equal actual.Shape [| h; w |] "(H, W)"
          assertClose 1e-12 1e-12 expected (host actual)
          Expect.isTrue (host actual |> Array.indexed |> Array.forall (fun (k, v) -> k % w <> 0 || v = 1.0)) "uncovered pixels are 1"
          let one = uniform 21 0.5 2.0 [ 1; h; w ]
          let oneMask = partialMask 22 1 h w
          let scale = perImageLoop 1 (h * w) (host oneMask) (fun k -> (host one).[k])
          let normalised = Array.map2 (fun d m -> if m > 0.0 then d / scale.[0] else 1.0) (host one) (host oneMask)
          assertClose 1e-12 1e-12 normalised (host (DepthMetrics.meanDepth (one.expand [ 3; h; w ] * Tensor.ofArray ([| 1.0; 2.0; 0.5 |], [ 3; 1; 1 ])) (oneMask.expand [ 3; h; w ])))
      }

      test "references: the constant row's SIDE is the spread of ln d*; a test set of one training map scaled scores 0 against the mean map; summary skips NaN and uses n − 1" {
          use scope = DisposalScope.Open()
          let s = 8
          let focal = Unsup3d.focalLength Unsup3d.FovDegrees s
          let truth = uniform 23 0.9 1.1 [ 3; s; s ]
          let mask = partialMask 24 3 s s
          let refs = Unsup3dEval.references focal truth (mask.onesLike ()) truth mask
          let spread = sideLoop (Array.create (3 * s * s) 1.0) (host truth) (host mask) 3 (s * s)
          let expected = DepthMetrics.summary spread
          Expect.floatClose Accuracy.veryHigh refs.ConstantNullDepth.Side.Mean expected.Mean "mean SIDE of a constant map"
          Expect.floatClose Accuracy.veryHigh refs.ConstantNullDepth.Side.Std expected.Std "its std"
          let flatMad = madLoop focal (Array.create (3 * s * s) 1.0) focal (host truth) (host mask) 3 s
          Expect.floatClose Accuracy.veryHigh refs.ConstantNullDepth.Mad.Mean (Array.average flatMad) "MAD of (0, 0, 1) normals"
          let same = truth.[0..0].expand [ 3; s; s ] * Tensor.ofArray ([| 1.0; 1.5; 0.8 |], [ 3; 1; 1 ])
          let sameMask = (mask.[0..0]).expand [ 3; s; s ]
          // The training masks cover every pixel: an uncovered one is 1 in the mean map and
          // would tilt the normals of its covered neighbours.
          let mean = Unsup3dEval.references focal same (sameMask.onesLike ()) same sameMask
          Expect.isLessThan mean.MeanGroundTruthDepth.Side.Mean 1e-12 "SIDE 0"
          Expect.isLessThan mean.MeanGroundTruthDepth.Mad.Mean 1e-5 "MAD 0"
          Expect.equal mean.MeanGroundTruthDepth.Side.Count 3 "three images"
          Expect.equal (DepthMetrics.summary [| 1.0; nan; 3.0; 2.0 |]) { Mean = 2.0; Std = 1.0; Count = 3; Skipped = 1 } "mean ± sample std"
          let single = DepthMetrics.summary [| 4.0 |]
          Expect.isTrue (single.Mean = 4.0 && Double.IsNaN single.Std) "one value: no spread"
      } ]

[<Tests>]
let tests = testList "Unsup3dLoss" (losses @ metrics)
