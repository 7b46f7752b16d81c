/// The point projection (`PointSplat`, the fused kernel rc_raster_points) against its dense
/// reference (`Reference.pointSplat`, every (pixel, point) pair as plain tensor ops), against
/// central finite differences in float64, across thread counts, and against what the paper's
/// formulas give in cases worked by hand.
module Reconstruct.Tests.PointSplatTests

open System
open Expecto
open Reconstruct.Torch
open Reconstruct.Render
open Reconstruct.Tests.TestHelpers
open Reconstruct.Tests.RenderTests

// ------------------------------------------------------------------ inputs

/// b images of n points in pixel coordinates over an h×w image widened by 2 px on every side
/// (so some windows are clipped by a border and some points lie outside), where every fourth
/// point is repeated exactly (coincident points, each with its own depth and colour); depth in
/// [1.5, 3.5], colours (c channels) in [0, 1]. Returns xy (b, n, 2), depth (b, n), rgb (b, n, c).
let randomPoints (seed: int) (b: int) (n: int) (h: int) (w: int) (c: int) (dtype: Dtype) =
    use g = generator seed
    let x = (Tensor.uniform ([ b; n ], -2.0, float w + 2.0, g, Float64)).ToFloat64s()
    let y = (Tensor.uniform ([ b; n ], -2.0, float h + 2.0, g, Float64)).ToFloat64s()
    for k in 0 .. b * n - 2 do
        if k % 4 = 0 && (k + 1) % n <> 0 then
            x.[k + 1] <- x.[k]
            y.[k + 1] <- y.[k]
    let xy = Array.init (b * n * 2) (fun k -> if k % 2 = 0 then x.[k / 2] else y.[k / 2])
    (Tensor.ofArray (xy, [ b; n; 2 ])).cast dtype,
    (Tensor.uniform ([ b; n ], 1.5, 3.5, g, Float64)).cast dtype,
    (Tensor.rand ([ b; n; c ], g, Float64)).cast dtype

/// A renderer of the shape of `PointSplat.render` and `Reference.pointSplat`.
type private Render = PointSplatSettings -> Tensor -> Tensor -> Tensor -> Tensor * Tensor

/// mask, colour, then the gradients of Σ mask·upMask + Σ colour·upColour w.r.t. xy, depth, rgb.
let private outputsAndGradients (render: Render) settings (xy: Tensor) depth rgb (upMask: Tensor) (upColour: Tensor) =
    let images = ref None
    let _, grads =
        Autograd.fgrads
            (fun xs ->
                let mask, colour = render settings xs.[0] xs.[1] xs.[2]
                images.Value <- Some(mask.detach (), colour.detach ())
                (mask * upMask).sum () + (colour * upColour).sum ())
            [| xy; depth; rgb |]
    let mask, colour = images.Value.Value
    [ mask; colour; grads.[0]; grads.[1]; grads.[2] ]

let private names = [ "mask"; "colour"; "d/dxy"; "d/ddepth"; "d/drgb" ]

/// Upstream gradients for a render of (b, c) images under `settings`.
let private upstream (seed: int) (b: int) (c: int) (settings: PointSplatSettings) (dtype: Dtype) =
    use g = generator seed
    Tensor.randn ([ b; 1; settings.Height; settings.Width ], g, dtype), Tensor.randn ([ b; c; settings.Height; settings.Width ], g, dtype)

/// The paper's settings on a non-square image (so a swap of x and y cannot pass), and settings
/// that move every constant (so nothing is hard-coded to the defaults).
let private paperSettings = { PointSplatSettings.Defaults with Height = 12; Width = 10 }

let private otherSettings =
    { Height = 9
      Width = 13
      Sigma2 = 1.3
      Radius = 2.5
      Sharpness = 7.0
      DepthOffset = 0.5 }

/// The value at pixel (i, j) of channel ch of image 0 of a (B, C, H, W) tensor.
let private pixel (t: Tensor) (ch: int) (i: int) (j: int) = t.[0].[ch].[i].[j].ToScalar()

let private expectOneLineError (expected: string) (f: unit -> unit) =
    let e = Expect.catchT<NativeError> f expected
    Expect.stringContains e.Message "rc_raster_points: " "the message names the op"
    Expect.stringContains e.Message expected "the message names the argument"
    Expect.isFalse (e.Message.Contains '\n') (sprintf "one line: %s" e.Message)

// ------------------------------------------------------------------ tests

[<Tests>]
let tests =
    testList "PointSplat" [

        test "kernel equals the dense reference, outputs and gradients, float64 and float32" {
            use scope = DisposalScope.Open()
            for settings in [ paperSettings; otherSettings ] do
                for dtype, atol, rtol in [ Float64, 1e-12, 1e-10; Float32, 2e-6, 2e-5 ] do
                    let what = sprintf "%A σ²=%g" dtype settings.Sigma2
                    let xy, depth, rgb = randomPoints 3 2 30 settings.Height settings.Width 3 dtype
                    let upMask, upColour = upstream 4 2 3 settings dtype
                    let expected = outputsAndGradients Reference.pointSplat settings xy depth rgb upMask upColour
                    let actual = outputsAndGradients PointSplat.render settings xy depth rgb upMask upColour
                    List.iteri2 (fun k e a -> assertNear (sprintf "%s %s" what names.[k]) atol rtol e a) expected actual
                    // the scene exercises what it should: empty and shared wells, clipped windows
                    let wellCovered = (Reference.pointSplat settings xy depth (rgb.onesLike ()) |> snd).[0]
                    let mask = expected.[0].ToFloat64s()
                    Expect.isTrue (mask |> Array.exists ((=) 0.0)) (what + ": no empty pixel")
                    Expect.isTrue (mask |> Array.exists (fun m -> m > 0.9)) (what + ": no pixel covered by several points")
                    Expect.isTrue ((wellCovered.ToFloat64s()) |> Array.exists ((=) 0.0)) (what + ": no empty well")
                    for k in 2..4 do
                        Expect.isTrue (expected.[k].abs().max().ToScalar() > 1e-3) (sprintf "%s: %s is trivial" what names.[k])
        }

        test "the mask alone equals the rendered mask, and so do its gradients" {
            use scope = DisposalScope.Open()
            let s = paperSettings
            let xy, depth, rgb = randomPoints 5 2 60 s.Height s.Width 3 Float64
            let upMask, _ = upstream 6 2 3 s Float64
            let alone, gAlone = Autograd.fgrad (fun p -> (PointSplat.mask s p * upMask).sum ()) xy
            let rendered, gRendered = Autograd.fgrad (fun p -> (fst (PointSplat.render s p depth rgb) * upMask).sum ()) xy
            assertSame "Σ mask·up" rendered alone
            assertSame "d/dxy" gRendered gAlone
        }

        test "gradients match central finite differences in float64" {
            use scope = DisposalScope.Open()
            // a small image crowded with points, so wells hold several; Sharpness 3 makes the
            // softmax soft enough that every in-well point's depth matters
            for settings in [ { PointSplatSettings.Defaults with Height = 7; Width = 6 }; { otherSettings with Height = 6; Width = 7; Sharpness = 3.0 } ] do
                let xy, depth, rgb = randomPoints 7 1 14 settings.Height settings.Width 2 Float64
                let upMask, upColour = upstream 8 1 2 settings Float64
                let loss (p: Tensor) (d: Tensor) (c: Tensor) =
                    let mask, colour = PointSplat.render settings p d c
                    (mask * upMask).sum () + (colour * upColour).sum ()
                let what = sprintf "Sharpness %g" settings.Sharpness
                gradcheck (what + " d/dxy") (fun p -> loss p depth rgb) xy
                gradcheck (what + " d/ddepth") (fun d -> loss xy d rgb) depth
                gradcheck (what + " d/drgb") (fun c -> loss xy depth c) rgb
        }

        testSequenced <| test "one and two threads give bitwise identical results" {
            use scope = DisposalScope.Open()
            let s = { PointSplatSettings.Defaults with Height = 24; Width = 20 }
            for dtype in [ Float32; Float64 ] do
                // enough rows and points that both the forward's rows and the backward's points split
                let xy, depth, rgb = randomPoints 9 3 400 s.Height s.Width 3 dtype
                let upMask, upColour = upstream 10 3 3 s dtype
                let run () = outputsAndGradients PointSplat.render s xy depth rgb upMask upColour
                let one = withThreads 1 run
                let two = withThreads 2 run
                List.iteri2 (fun k a b -> assertSame (sprintf "%A %s" dtype names.[k]) a b) one two
        }

        test "a point at a pixel centre gives tanh(1) there and its colour" {
            use scope = DisposalScope.Open()
            let s = { PointSplatSettings.Defaults with Height = 5; Width = 6 }
            // pixel (row 2, column 3) has its centre at x = 3.5, y = 2.5
            let xy = Tensor.ofArray ([| 3.5; 2.5 |], [ 1; 1; 2 ])
            let mask, colour = PointSplat.render s xy (Tensor.ofArray ([| 2.0 |], [ 1; 1 ])) (Tensor.ofArray ([| 0.25; 0.5; 0.75 |], [ 1; 1; 3 ]))
            Expect.floatClose Accuracy.veryHigh (pixel mask 0 2 3) (tanh 1.0) "mask at the point's pixel"
            // one pixel away the Gaussian is exp(−1/(2σ²)); diagonally exp(−2/(2σ²))
            Expect.floatClose Accuracy.veryHigh (pixel mask 0 2 4) (tanh (exp (-1.0 / 0.8))) "mask one column right"
            Expect.floatClose Accuracy.veryHigh (pixel mask 0 1 3) (tanh (exp (-1.0 / 0.8))) "mask one row up"
            Expect.floatClose Accuracy.veryHigh (pixel mask 0 3 2) (tanh (exp (-2.0 / 0.8))) "mask diagonally"
            // 3σ ≈ 1.9 px: two pixels away is outside the window
            Expect.equal (pixel mask 0 2 5) 0.0 "mask two columns right"
            for ch, value in [ 0, 0.25; 1, 0.5; 2, 0.75 ] do
                Expect.floatClose Accuracy.veryHigh (pixel colour ch 2 3) value "colour at the point's pixel"
                // the well reaches the pixel centres one pixel away
                Expect.floatClose Accuracy.veryHigh (pixel colour ch 1 2) value "colour diagonally"
                Expect.equal (pixel colour ch 2 5) 0.0 "colour two columns right"
        }

        test "the colour is the nearest point's when it is much nearer than the others" {
            use scope = DisposalScope.Open()
            let s = { PointSplatSettings.Defaults with Height = 4; Width = 4 }
            // five points in the well of pixel (1, 2), centre (2.5, 1.5); the nearest is third
            let xy = Tensor.ofArray ([| 2.3; 1.6; 2.9; 1.2; 2.6; 1.9; 1.8; 1.4; 2.5; 1.5 |], [ 1; 5; 2 ])
            let depth = Tensor.ofArray ([| 4.0; 5.0; 0.5; 3.0; 6.0 |], [ 1; 5 ])
            let rgb = Tensor.ofArray ([| for k in 0..4 -> [| 0.1 * float k; 1.0 - 0.2 * float k |] |] |> Array.concat, [ 1; 5; 2 ])
            let _, colour = PointSplat.render s xy depth rgb
            // logits 100/1.50001 against at most 100/4.00001: weights of the others below e^-41
            Expect.floatClose Accuracy.veryHigh (pixel colour 0 1 2) 0.2 "channel 0 of point 2"
            Expect.floatClose Accuracy.veryHigh (pixel colour 1 1 2) 0.6 "channel 1 of point 2"
        }

        test "swapping x and y transposes mask and colour" {
            use scope = DisposalScope.Open()
            let s = { otherSettings with Height = 9; Width = 13 }
            let xy, depth, rgb = randomPoints 11 2 70 s.Height s.Width 3 Float64
            let mask, colour = PointSplat.render s xy depth rgb
            let swapped = xy.flip [ 2 ]
            let maskT, colourT = PointSplat.render { s with Height = s.Width; Width = s.Height } swapped depth rgb
            assertNear "mask" 1e-15 0.0 mask (maskT.transpose (2, 3))
            assertNear "colour" 1e-15 0.0 colour (colourT.transpose (2, 3))
        }

        test "no points, and points far outside, give empty images and zero gradients" {
            use scope = DisposalScope.Open()
            let s = { PointSplatSettings.Defaults with Height = 6; Width = 5 }
            let far = Tensor.ofArray ([| -1e30; 2.0; 3.0; 1e30; 1e6; -1e6 |], [ 1; 3; 2 ])
            for xy in [ Tensor.zeros ([ 2; 0; 2 ], Float64); far ] do
                let b, n = xy.Shape.[0], xy.Shape.[1]
                let depth, rgb = Tensor.ones ([ b; n ], Float64), Tensor.ones ([ b; n; 3 ], Float64)
                let upMask, upColour = upstream 12 b 3 s Float64
                let out = outputsAndGradients PointSplat.render s xy depth rgb upMask upColour
                List.iter2 (fun name (t: Tensor) ->
                    Expect.isTrue (t.ToFloat64s() |> Array.forall ((=) 0.0)) (sprintf "%d points: %s is not all zero" n name)) names out
        }

        test "bad inputs raise one-line errors naming the argument" {
            use scope = DisposalScope.Open()
            let s = paperSettings
            let xy, depth, rgb = randomPoints 13 1 4 s.Height s.Width 3 Float64
            let render (s: PointSplatSettings) xy depth rgb () = PointSplat.render s xy depth rgb |> ignore
            let mask (s: PointSplatSettings) xy () = PointSplat.mask s xy |> ignore
            expectOneLineError "xy must have shape (B,N,2), received float64[1, 4, 3]" (mask s (Tensor.zeros ([ 1; 4; 3 ], Float64)))
            expectOneLineError "xy must be float32 or float64, received int64[1, 4, 2]" (mask s (Tensor.zeros ([ 1; 4; 2 ], Int64)))
            expectOneLineError "depth must have shape (B,N) with B=1, N=4" (render s xy (depth.reshape [ 4; 1 ]) rgb)
            expectOneLineError "rgb must have the dtype of xy" (render s xy depth (rgb.cast Float32))
            expectOneLineError "rgb must have shape (B,N,C)" (render s xy depth (rgb.narrow (1, 0, 3)))
            expectOneLineError "height and width must be >= 1, received 0x10" (mask { s with Height = 0 } xy)
            expectOneLineError "sigma2 (px^2) must be finite and > 0, received nan" (mask { s with Sigma2 = nan } xy)
            expectOneLineError "sigma2 (px^2) must be finite and > 0, received inf" (mask { s with Sigma2 = infinity } xy)
            expectOneLineError "sigma2 (px^2) must be finite and > 0, received 0" (mask { s with Sigma2 = 0.0 } xy)
            expectOneLineError "radius (in sigmas) must be finite and > 0, received -1" (mask { s with Radius = -1.0 } xy)
            expectOneLineError "sharpness must be finite and > 0, received 0" (render { s with Sharpness = 0.0 } xy depth rgb)
            expectOneLineError "depth_offset must be finite, received nan" (render { s with DepthOffset = nan } xy depth rgb)
            let withValue (t: Tensor) (k: int) (v: float) =
                let values = t.ToFloat64s()
                values.[k] <- v
                Tensor.ofArray (values, t.Shape)
            expectOneLineError "xy must be finite, received a NaN or infinity at image 0, point 2" (mask s (withValue xy 5 nan))
            expectOneLineError "depth must be finite with depth + depth_offset + 1e-5 > 0 (depth_offset = 1), received -2 at image 0, point 3" (render s xy (withValue depth 3 -2.0) rgb)
            expectOneLineError "received inf at image 0, point 1" (render s xy (withValue depth 1 infinity) rgb)
        }
    ]
