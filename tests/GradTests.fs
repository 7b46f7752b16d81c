/// Autograd against central finite differences in float64, one case per operation, plus
/// higher-order gradients against analytic values and the mechanics of backward, .Grad,
/// detach, noGrad and fgrad.
module Reconstruct.Tests.GradTests

open System
open Expecto
open Reconstruct.Torch
open Reconstruct.Tests.TestHelpers

/// Values in [lo, hi) from System.Random (not from the code under test).
let private values (seed: int) (lo: float) (hi: float) (n: int) =
    let r = Random(seed)
    Array.init n (fun _ -> lo + (hi - lo) * r.NextDouble())

let private tensor seed lo hi (shape: int list) = Tensor.ofArray (values seed lo hi (List.reduce (*) shape), shape)

/// Checks d/dx sum(op(x) · w) against finite differences, w fixed random weights of op(x)'s
/// shape: a plain sum would hide gradients that are right only up to a permutation or a
/// scale shared by every element.
let private check (name: string) (x: Tensor) (op: Tensor -> Tensor) =
    use scope = DisposalScope.Open()
    let shape =
        use _ = Autograd.noGrad ()
        (op x).Shape
    let w = Tensor.ofArray (values (name.Length * 31 + 7) -1.0 1.0 (Array.fold (*) 1 shape), shape)
    gradcheck name (fun t -> (op t * w).sum ()) x

/// A well-conditioned (n, n) matrix: random plus 2·I.
let private wellConditioned seed n =
    let m = values seed -0.5 0.5 (n * n)
    for i in 0 .. n - 1 do
        m.[i * n + i] <- m.[i * n + i] + 2.0
    Tensor.ofArray (m, [ n; n ])

/// One entry per operation; each runs `check` on its own input. c34: (3, 4) in [-1, 1) and
/// pos34: (3, 4) in [0.5, 2) are constants shared by the cases, created by the test that runs
/// them (so its disposal scope frees them).
let private cases (c34: Tensor) (pos34: Tensor) : (string * (unit -> unit)) list =
    [ "add broadcast (3,1) + (1,4)", (fun () -> check "add" (tensor 1 -1.0 1.0 [ 3; 1 ]) (fun x -> x + c34.[0..0, 0..]))
      "add broadcast row", (fun () -> check "add row" (tensor 2 -1.0 1.0 [ 4 ]) (fun x -> c34 + x))
      "sub broadcast", (fun () -> check "sub" (tensor 3 -1.0 1.0 [ 1; 4 ]) (fun x -> c34 - x))
      "mul broadcast", (fun () -> check "mul" (tensor 4 -1.0 1.0 [ 3; 1 ]) (fun x -> x * c34))
      "div broadcast denominator", (fun () -> check "div den" (tensor 5 0.5 2.0 [ 1; 4 ]) (fun x -> c34 / x))
      "div numerator", (fun () -> check "div num" (tensor 6 -1.0 1.0 [ 3; 4 ]) (fun x -> x / pos34))
      "scalar arithmetic", (fun () -> check "scalar" (tensor 7 0.5 2.0 [ 5 ]) (fun x -> 3.0 - 2.0 * x + x / 4.0 + 1.5 / x))
      "pow scalar", (fun () -> check "pow" (tensor 8 0.5 2.0 [ 5 ]) (fun x -> x.pow 2.5))
      "pow tensor base", (fun () -> check "pow base" (tensor 9 0.5 2.0 [ 3; 4 ]) (fun x -> x.pow c34))
      "pow tensor exponent", (fun () -> check "pow exp" (tensor 10 -1.0 1.0 [ 3; 4 ]) (fun x -> pos34.pow x))
      "exp", (fun () -> check "exp" (tensor 11 -1.0 1.0 [ 6 ]) (fun x -> x.exp ()))
      "log", (fun () -> check "log" (tensor 12 0.5 3.0 [ 6 ]) (fun x -> x.log ()))
      "log1p", (fun () -> check "log1p" (tensor 13 -0.5 2.0 [ 6 ]) (fun x -> x.log1p ()))
      "sqrt", (fun () -> check "sqrt" (tensor 14 0.5 3.0 [ 6 ]) (fun x -> x.sqrt ()))
      "reciprocal", (fun () -> check "reciprocal" (tensor 15 0.5 3.0 [ 6 ]) (fun x -> x.reciprocal ()))
      "sin", (fun () -> check "sin" (tensor 16 -3.0 3.0 [ 6 ]) (fun x -> x.sin ()))
      "cos", (fun () -> check "cos" (tensor 17 -3.0 3.0 [ 6 ]) (fun x -> x.cos ()))
      "tan", (fun () -> check "tan" (tensor 18 -1.0 1.0 [ 6 ]) (fun x -> x.tan ()))
      "asin", (fun () -> check "asin" (tensor 19 -0.8 0.8 [ 6 ]) (fun x -> x.asin ()))
      "tanh", (fun () -> check "tanh" (tensor 20 -2.0 2.0 [ 6 ]) (fun x -> x.tanh ()))
      "sigmoid", (fun () -> check "sigmoid" (tensor 21 -3.0 3.0 [ 6 ]) (fun x -> x.sigmoid ()))
      "erf", (fun () -> check "erf" (tensor 22 -2.0 2.0 [ 6 ]) (fun x -> x.erf ()))
      "atan2 numerator", (fun () -> check "atan2 y" (tensor 23 -1.0 1.0 [ 3; 4 ]) (fun y -> Tensor.atan2 (y, pos34)))
      "atan2 denominator", (fun () -> check "atan2 x" (tensor 24 0.5 2.0 [ 3; 4 ]) (fun x -> Tensor.atan2 (c34, x)))
      // Away from the kinks: |x| >= 0.3, and no value within 0.1 of a clamp bound.
      "abs", (fun () -> check "abs" (Tensor.ofArray [| -1.2; -0.3; 0.4; 2.0; -0.7 |]) (fun x -> x.abs ()))
      "relu", (fun () -> check "relu" (Tensor.ofArray [| -1.2; -0.3; 0.4; 2.0; -0.7 |]) (fun x -> x.relu ()))
      "clamp", (fun () -> check "clamp" (Tensor.ofArray [| -1.5; -0.3; 0.2; 0.8; 1.7 |]) (fun x -> x.clamp (-1.0, 1.0)))
      "maximum", (fun () -> check "maximum" (tensor 25 -1.0 1.0 [ 3; 4 ]) (fun x -> Tensor.maximum (x, c34 * 0.5 + 0.01)))
      "square", (fun () -> check "square" (tensor 26 -2.0 2.0 [ 6 ]) (fun x -> x.square ()))
      "sum along dims", (fun () -> check "sum" (tensor 27 -1.0 1.0 [ 2; 3; 4 ]) (fun x -> x.sum [| 0; 2 |]))
      "sum keepdim", (fun () -> check "sum keep" (tensor 28 -1.0 1.0 [ 2; 3 ]) (fun x -> x.sum (1, keepDim = true) * x))
      "mean along dim", (fun () -> check "mean" (tensor 29 -1.0 1.0 [ 2; 3; 4 ]) (fun x -> x.mean 1))
      "max along dim", (fun () -> check "max dim" (tensor 30 -1.0 1.0 [ 3; 5 ]) (fun x -> fst (x.max 1)))
      "min along dim", (fun () -> check "min dim" (tensor 31 -1.0 1.0 [ 3; 5 ]) (fun x -> fst (x.min 0)))
      "norm", (fun () -> check "norm" (tensor 32 -1.0 1.0 [ 2; 3 ]) (fun x -> x.norm ()))
      "norm along dim", (fun () -> check "norm dim" (tensor 33 -1.0 1.0 [ 4; 3 ]) (fun x -> x.norm (2.0, 1)))
      "std along dim", (fun () -> check "std" (tensor 34 -1.0 1.0 [ 3; 5 ]) (fun x -> x.std 1))
      "prod along dim", (fun () -> check "prod" (tensor 35 0.5 1.5 [ 3; 4 ]) (fun x -> x.prod 1))
      "logsumexp", (fun () -> check "logsumexp" (tensor 36 -2.0 2.0 [ 3; 4 ]) (fun x -> x.logsumexp 1))
      "cumsum", (fun () -> check "cumsum" (tensor 37 -1.0 1.0 [ 3; 4 ]) (fun x -> x.cumsum 1))
      "softmax via exp", (fun () ->
          check "softmax" (tensor 38 -2.0 2.0 [ 3; 4 ]) (fun x -> let e = x.exp () in e / e.sum (1, keepDim = true)))
      "matmul left", (fun () -> check "matmul left" (tensor 39 -1.0 1.0 [ 2; 3 ]) (fun x -> x.matmul (c34.[0..2, 0..])))
      "matmul right", (fun () -> check "matmul right" (tensor 40 -1.0 1.0 [ 4; 2 ]) (fun x -> c34.matmul x))
      "bmm", (fun () -> check "bmm" (tensor 41 -1.0 1.0 [ 2; 3; 4 ]) (fun x -> x.bmm (x.transpose (1, 2))))
      "einsum", (fun () -> check "einsum" (tensor 42 -1.0 1.0 [ 4; 3 ]) (fun x -> Tensor.einsum ("ij,jk->ik", c34, x)))
      "cross", (fun () -> check "cross" (tensor 43 -1.0 1.0 [ 4; 3 ]) (fun x -> x.cross (c34.transpose (0, 1), dim = 1)))
      "det", (fun () -> check "det" (wellConditioned 44 3) (fun x -> x.det ()))
      "inverse", (fun () -> check "inverse" (wellConditioned 45 3) (fun x -> x.inverse ()))
      "svd singular values", (fun () ->
          check "svd" (tensor 46 -1.0 1.0 [ 4; 3 ]) (fun x -> let _, s, _ = x.svd () in s))
      "gather", (fun () ->
          let index = Tensor.ofArray ([| 0L; 3L; 3L; 1L; 2L; 2L |], [ 3; 2 ])
          check "gather" (tensor 47 -1.0 1.0 [ 3; 4 ]) (fun x -> x.gather (1, index)))
      "index_select with repeats", (fun () ->
          let index = Tensor.ofArray [| 2L; 0L; 2L; 2L |]
          check "index_select" (tensor 48 -1.0 1.0 [ 3; 4 ]) (fun x -> x.indexSelect (0, index)))
      "scatter_add source", (fun () ->
          let index = Tensor.ofArray ([| 0L; 2L; 2L; 1L; 2L; 2L; 0L; 0L |], [ 2; 4 ])
          check "scatter_add src" (tensor 49 -1.0 1.0 [ 2; 4 ]) (fun src -> c34.scatterAdd (0, index, src)))
      "scatter_add input", (fun () ->
          let index = Tensor.ofArray ([| 0L; 2L; 2L; 1L; 2L; 2L; 0L; 0L |], [ 2; 4 ])
          check "scatter_add self" (tensor 50 -1.0 1.0 [ 3; 4 ]) (fun x -> (x * x).scatterAdd (0, index, c34.[0..1, 0..])))
      "cat", (fun () -> check "cat" (tensor 51 -1.0 1.0 [ 2; 4 ]) (fun x -> Tensor.cat ([ x; c34; x * x ], 0)))
      "stack", (fun () -> check "stack" (tensor 52 -1.0 1.0 [ 3; 4 ]) (fun x -> Tensor.stack ([ c34; x.sin (); x ], 1)))
      "flip", (fun () -> check "flip" (tensor 53 -1.0 1.0 [ 3; 4 ]) (fun x -> x.flip [ 0; 1 ] * x))
      "expand then sum", (fun () -> check "expand" (tensor 54 -1.0 1.0 [ 3; 1 ]) (fun x -> (x.expand [ 3; 4 ] * c34).sum 0))
      "repeat", (fun () -> check "repeat" (tensor 55 -1.0 1.0 [ 2; 2 ]) (fun x -> x.repeat [ 2; 3 ]))
      "permute", (fun () -> check "permute" (tensor 56 -1.0 1.0 [ 2; 3; 4 ]) (fun x -> x.permute [ 2; 0; 1 ] * x.sum 2))
      "transpose and reshape", (fun () -> check "reshape" (tensor 57 -1.0 1.0 [ 3; 4 ]) (fun x -> x.transpose(0, 1).reshape [ 2; 6 ]))
      "unsqueeze and squeeze", (fun () -> check "squeeze" (tensor 58 -1.0 1.0 [ 3 ]) (fun x -> (x.unsqueeze 1) * ((x.unsqueeze 0).squeeze 0)))
      "slicing", (fun () -> check "slice" (tensor 59 -1.0 1.0 [ 4; 5 ]) (fun x -> x.[1..2, 1..] * x.[0..1, ..3]))
      "select and narrow", (fun () -> check "select" (tensor 60 -1.0 1.0 [ 4; 5 ]) (fun x -> x.[2] * ((x.narrow (0, 1, 1)).squeeze 0)))
      "where", (fun () ->
          let cond = Tensor.ofArray ([| true; false; false; true |], [ 1; 4 ])
          check "where" (tensor 61 -1.0 1.0 [ 3; 4 ]) (fun x -> Tensor.where (cond, x * x, x.sin ())))
      "topk values", (fun () -> check "topk" (tensor 62 -1.0 1.0 [ 3; 6 ]) (fun x -> fst (x.topk (3, dim = 1))))
      "sort values", (fun () -> check "sort" (tensor 63 -1.0 1.0 [ 7 ]) (fun x -> fst (x.sort ())))
      "unbind", (fun () -> check "unbind" (tensor 64 -1.0 1.0 [ 3; 4 ]) (fun x -> let r = x.unbind 0 in r.[0] * r.[2])) ]

[<Tests>]
let tests =
    testList "Grad" [
        testList "gradient matches finite differences" [
            // One test per operation; the inputs are made inside the test, in its own scope.
            for name, _ in cases null null do
                test name {
                    use scope = DisposalScope.Open()
                    let c34 = tensor 100 -1.0 1.0 [ 3; 4 ]
                    let pos34 = tensor 101 0.5 2.0 [ 3; 4 ]
                    let _, run = cases c34 pos34 |> List.find (fun (n, _) -> n = name)
                    run ()
                }
        ]

        test "gradient checks cover at least 30 operations" {
            let n = (cases null null).Length
            Expect.isTrue (n >= 30) (sprintf "%d cases" n)
        }

        test "gradcheck catches a wrong gradient" {
            // x.detach() * x has autograd gradient x but true derivative 2x: gradcheck must object.
            use scope = DisposalScope.Open()
            let x = Tensor.ofArray [| 0.5; -1.0; 2.0 |]
            let e = Expect.catchAnyT<exn> (fun () -> gradcheck "detached factor" (fun t -> (t.detach () * t).sum ()) x) "gradcheck \"detached factor\" (fun t -> (t.detach () * t).sum ()) x"
            Expect.stringContains e.Message "detached factor" "e.Message"
        }

        // ---------------------------------------------------------------- higher order

        test "higher order second and third derivative of x^3" {
            use scope = DisposalScope.Open()
            let xs = [| -1.5; 0.25; 2.0 |]
            let x = Tensor.ofArray xs
            let cube (t: Tensor) = (t * t * t).sum ()
            let first = Autograd.grad cube x
            assertClose 1e-12 1e-12 (xs |> Array.map (fun v -> 3.0 * v * v)) (first.ToFloat64s())
            let second = Autograd.grad (fun t -> (Autograd.grad cube t).sum ()) x
            assertClose 1e-12 1e-12 (xs |> Array.map (fun v -> 6.0 * v)) (second.ToFloat64s())
            let third = Autograd.grad (fun t -> (Autograd.grad (fun u -> (Autograd.grad cube u).sum ()) t).sum ()) x
            assertClose 1e-12 1e-12 [| 6.0; 6.0; 6.0 |] (third.ToFloat64s())
        }

        test "higher order second derivative of sin(x^2)" {
            use scope = DisposalScope.Open()
            let xs = [| -1.1; 0.3; 0.9; 1.6 |]
            let x = Tensor.ofArray xs
            let f (t: Tensor) = (t * t).sin().sum ()
            let d1 = Autograd.grad f x
            assertClose 1e-12 1e-12 (xs |> Array.map (fun v -> 2.0 * v * cos (v * v))) (d1.ToFloat64s())
            let d2 = Autograd.grad (fun t -> (Autograd.grad f t).sum ()) x
            let expected = xs |> Array.map (fun v -> 2.0 * cos (v * v) - 4.0 * v * v * sin (v * v))
            assertClose 1e-12 1e-10 expected (d2.ToFloat64s())
        }

        test "higher order Hessian-vector product of (x·x)^2" {
            use scope = DisposalScope.Open()
            let xs = [| 0.5; -1.0; 2.0 |]
            let vs = [| 1.0; 0.5; -0.25 |]
            let x = Tensor.ofArray xs
            let v = Tensor.ofArray vs
            let f (t: Tensor) = (t * t).sum().pow 2.0
            // H v = ∇(∇f · v); for f = (x·x)², H = 4(x·x) I + 8 x xᵀ.
            let hv = Autograd.grad (fun t -> (Autograd.grad f t * v).sum ()) x
            let xx = Array.sumBy (fun a -> a * a) xs
            let xv = Array.fold2 (fun s a b -> s + a * b) 0.0 xs vs
            assertClose 1e-12 1e-12 (Array.map2 (fun a b -> 4.0 * xx * b + 8.0 * a * xv) xs vs) (hv.ToFloat64s())
        }

        test "higher order gradient of a gradient matches finite differences" {
            use scope = DisposalScope.Open()
            let w = Tensor.ofArray [| 0.3; -0.7; 1.1; 0.2 |]
            // The derivative of x ↦ (∇ sum(tanh(x)·exp(x)))·w, checked numerically.
            let inner (u: Tensor) = (u.tanh () * u.exp ()).sum ()
            gradcheck "grad of grad" (fun t -> (Autograd.grad inner t * w).sum ()) (Tensor.ofArray [| -0.4; 0.1; 0.6; 1.2 |])
        }

        // ---------------------------------------------------------------- mechanics

        test "backward accumulates into Grad and ZeroGrad clears it" {
            use scope = DisposalScope.Open()
            let xs = [| 1.0; -2.0; 3.0 |]
            let x = (Tensor.ofArray xs).RequireGrad()
            Expect.isTrue (x.RequiresGrad && x.IsLeaf) "x.RequiresGrad && x.IsLeaf"
            Expect.isTrue x.Grad.IsNone "x.Grad.IsNone"
            let step () = (x * x).sum().backward ()
            step ()
            assertClose 0.0 0.0 (xs |> Array.map (fun v -> 2.0 * v)) (x.Grad.Value.ToFloat64s())
            step ()
            assertClose 0.0 0.0 (xs |> Array.map (fun v -> 4.0 * v)) (x.Grad.Value.ToFloat64s())
            x.ZeroGrad()
            Expect.isTrue x.Grad.IsNone "x.Grad.IsNone"
            step ()
            assertClose 0.0 0.0 (xs |> Array.map (fun v -> 2.0 * v)) (x.Grad.Value.ToFloat64s())
            // A non-scalar output with an explicit gradient: d(sum(y · g))/dx = 2x · g.
            x.ZeroGrad()
            let y = x * x
            Expect.isFalse y.IsLeaf "y.IsLeaf"
            y.backward (Tensor.ofArray [| 1.0; 0.5; -1.0 |])
            assertClose 0.0 0.0 [| 2.0; -2.0; -6.0 |] (x.Grad.Value.ToFloat64s())
        }

        test "backward errors name the problem" {
            use scope = DisposalScope.Open()
            let plain = Tensor.ofArray [| 1.0; 2.0 |]
            let e = Expect.catchT<NativeError> (fun () -> plain.sum().backward ()) "plain.sum().backward ()"
            Expect.stringContains e.Message "does not require grad" "e.Message"
            let x = (Tensor.ofArray [| 1.0; 2.0 |]).RequireGrad()
            let v = Expect.catchT<NativeError> (fun () -> (x * x).backward ()) "(x * x).backward ()"
            Expect.stringContains v.Message "float64[2]" "v.Message"
            // The graph is freed after one backward unless retained.
            let y = (x * x).sum ()
            y.backward (retainGraph = true)
            y.backward ()
            assertClose 0.0 0.0 [| 4.0; 8.0 |] (x.Grad.Value.ToFloat64s())
            Expect.throwsT<NativeError> (fun () -> y.backward ()) "y.backward ()"
        }

        test "detach stops gradients" {
            use scope = DisposalScope.Open()
            let xs = [| 0.5; -1.5 |]
            let x = (Tensor.ofArray xs).RequireGrad()
            let d = x.detach ()
            Expect.isFalse d.RequiresGrad "d.RequiresGrad"
            (d * x).sum().backward ()
            // Only the attached factor contributes: the gradient is x, not 2x.
            assertClose 0.0 0.0 xs (x.Grad.Value.ToFloat64s())
            assertClose 0.0 0.0 xs ((Autograd.grad (fun t -> (t.detach () * t).sum ()) (Tensor.ofArray xs)).ToFloat64s())
        }

        test "noGrad stops recording and restores the mode" {
            use scope = DisposalScope.Open()
            let x = (Tensor.ofArray [| 1.0; 2.0 |]).RequireGrad()
            Expect.isTrue (Autograd.isGradEnabled ()) "Autograd.isGradEnabled ()"
            do
                use _ = Autograd.noGrad ()
                Expect.isFalse (Autograd.isGradEnabled ()) "Autograd.isGradEnabled ()"
                Expect.isFalse ((x * 2.0).RequiresGrad) "(x * 2.0).RequiresGrad"
                do
                    use _ = Autograd.noGrad ()
                    Expect.isFalse (Autograd.isGradEnabled ()) "Autograd.isGradEnabled ()"
                // The inner scope restores the outer no-grad mode, not "enabled".
                Expect.isFalse (Autograd.isGradEnabled ()) "Autograd.isGradEnabled ()"
                // An explicit gradient still works inside noGrad.
                assertClose 0.0 0.0 [| 2.0; 4.0 |] ((Autograd.grad (fun t -> (t * t).sum ()) x).ToFloat64s())
                Expect.isFalse (Autograd.isGradEnabled ()) "Autograd.isGradEnabled ()"
            Expect.isTrue (Autograd.isGradEnabled ()) "Autograd.isGradEnabled ()"
            Expect.isTrue ((x * 2.0).RequiresGrad) "(x * 2.0).RequiresGrad"
            // Restored after an exception too.
            let failing () =
                use _ = Autograd.noGrad ()
                failwith "boom"
            Expect.throws failing "failing"
            Expect.isTrue (Autograd.isGradEnabled ()) "Autograd.isGradEnabled ()"
        }

        test "fgrad returns the value and the gradient" {
            use scope = DisposalScope.Open()
            let xs = [| 0.2; -0.6; 1.3 |]
            let x = Tensor.ofArray xs
            let f (t: Tensor) = (t.exp () * t).sum ()
            let value, g = Autograd.fgrad f x
            Expect.equalRounded 12 (value.ToScalar()) (xs |> Array.sumBy (fun v -> exp v * v)) "value.ToScalar()"
            Expect.isFalse value.RequiresGrad "value.RequiresGrad"
            assertClose 1e-12 1e-12 (xs |> Array.map (fun v -> exp v * (1.0 + v))) (g.ToFloat64s())
            // x itself is untouched: still no gradient requirement and no .Grad.
            Expect.isFalse x.RequiresGrad "x.RequiresGrad"
            Expect.isTrue x.Grad.IsNone "x.Grad.IsNone"
            let a, b = Tensor.ofArray [| 1.0; 2.0 |], Tensor.ofArray [| 3.0; -4.0 |]
            let v2, gs = Autograd.fgrads (fun ts -> (ts.[0] * ts.[1]).sum ()) [| a; b |]
            Expect.equal (v2.ToScalar()) (-5.0) "v2.ToScalar()"
            assertClose 0.0 0.0 [| 3.0; -4.0 |] (gs.[0].ToFloat64s())
            assertClose 0.0 0.0 [| 1.0; 2.0 |] (gs.[1].ToFloat64s())
            let y, vjp = Autograd.fvjp (fun t -> t * t) a (Tensor.ofArray [| 0.5; -1.0 |])
            assertClose 0.0 0.0 [| 1.0; 4.0 |] (y.ToFloat64s())
            assertClose 0.0 0.0 [| 1.0; -4.0 |] (vjp.ToFloat64s())
        }

        test "grad of a constant is zero and a non-scalar f is refused" {
            use scope = DisposalScope.Open()
            let x = Tensor.ofArray [| 1.0; 2.0; 3.0 |]
            let c = Tensor.ofArray [| 5.0 |]
            assertClose 0.0 0.0 [| 0.0; 0.0; 0.0 |] ((Autograd.grad (fun _ -> c.sum ()) x).ToFloat64s())
            let e = Expect.catchT<ArgumentException> (fun () -> Autograd.grad (fun t -> t * t) x |> ignore) "Autograd.grad (fun t -> t * t) x"
            Expect.stringContains e.Message "[3]" "e.Message"
        }

        testSequenced <| test "grad frees its intermediates" {
            use outer = DisposalScope.Open()
            let x = Tensor.ofArray [| 0.1; 0.2; 0.3 |]
            let run () =
                use scope = DisposalScope.Open()
                (Autograd.grad (fun t -> (t.sin () * t).sum ()) x).ToFloat64s() |> ignore
            run ()
            let live = settledLiveCount ()
            for _ in 1..50 do run ()
            Expect.equal Tensor.LiveCount live "Tensor.LiveCount"
        }

        testSequenced <| test "grad releases its own leaf and graph without a scope" {
            let x = Tensor.ofArray [| 1.0; 2.0 |]
            let start = settledLiveCount ()
            // f creates only its output, so after grad nothing but the returned tensors is alive.
            let value, g = Autograd.fgrad (fun t -> t.sum ()) x
            Expect.equal Tensor.LiveCount (start + 2L) "Tensor.LiveCount"
            assertClose 0.0 0.0 [| 1.0; 1.0 |] (g.ToFloat64s())
            Expect.equal (value.ToScalar()) 3.0 "value.ToScalar()"
            (value :> IDisposable).Dispose()
            (g :> IDisposable).Dispose()
            (x :> IDisposable).Dispose()
            Expect.equal Tensor.LiveCount (start - 1L) "Tensor.LiveCount"
        }
    ]
