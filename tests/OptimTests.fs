module Reconstruct.Tests.OptimTests

open System
open Expecto
open Reconstruct.Torch
open Reconstruct.Tests.TestHelpers

let private leaf (values: float[]) = (Tensor.ofArray values).RequireGrad()

/// Accumulates the gradient of sum(c * w^2) into w.Grad: dL/dw = 2 c w.
let private backwardQuadratic (w: Tensor) (c: float[]) =
    use scope = DisposalScope.Open()
    let loss = (Tensor.ofArray c * w * w).sum ()
    loss.backward ()

let private bits (t: Tensor) =
    match t.Dtype with
    | Float32 -> t.ToArray<float32>() |> Array.map (fun v -> int64 (BitConverter.SingleToInt32Bits v))
    | _ -> t.ToArray<float>() |> Array.map BitConverter.DoubleToInt64Bits

let private assertThrowsWith<'E when 'E :> exn> (fragment: string) (f: unit -> unit) =
    let e = Expect.catchAnyT<'E> (fun () -> f ()) "f ()"
    if not (e.Message.Contains fragment) then failwithf "expected a message containing %A, got %A" fragment e.Message

/// Adam as PyTorch documents it, in float64: returns the parameters after each step.
let private adamReference (o: Optim.Adam) (decoupled: bool) (w0: float[]) (grad: float[] -> float[]) (steps: int) =
    let n = w0.Length
    let w = Array.copy w0
    let m = Array.zeroCreate<float> n
    let v = Array.zeroCreate<float> n
    for t in 1 .. steps do
        let g0 = grad w
        if decoupled then
            for i in 0 .. n - 1 do
                w.[i] <- w.[i] * (1.0 - o.Lr * o.WeightDecay)
        let g = if decoupled then g0 else Array.init n (fun i -> g0.[i] + o.WeightDecay * w.[i])
        let bc1 = 1.0 - Math.Pow(o.Beta1, float t)
        let bc2 = 1.0 - Math.Pow(o.Beta2, float t)
        for i in 0 .. n - 1 do
            m.[i] <- o.Beta1 * m.[i] + (1.0 - o.Beta1) * g.[i]
            v.[i] <- o.Beta2 * v.[i] + (1.0 - o.Beta2) * g.[i] * g.[i]
            w.[i] <- w.[i] - o.Lr * (m.[i] / bc1) / (sqrt (v.[i] / bc2) + o.Eps)
    w

let private runSteps (opt: Optim.Optimizer) (w: Tensor) (c: float[]) (steps: int) =
    for _ in 1 .. steps do
        opt.ZeroGrad()
        backwardQuadratic w c
        opt.Step()

/// A small regression problem: returns the loss of parameters (w, b) on fixed data.
let private regression (seed: int) =
    use g = generator seed
    let x = Tensor.randn ([ 32; 5 ], g)
    let wTrue = Tensor.randn ([ 5 ], g)
    let y = x.matmul wTrue + 0.3
    fun (w: Tensor) (b: Tensor) ->
        let d = x.matmul w + b - y
        (d * d).mean ()

let private train (opt: Optim.Optimizer) (loss: Tensor -> Tensor -> Tensor) (w: Tensor) (b: Tensor) (steps: int) =
    for _ in 1 .. steps do
        use scope = DisposalScope.Open()
        opt.ZeroGrad()
        (loss w b).backward ()
        opt.Step()

let private resumeIsBitExact (make: (string * Tensor) list -> Optim.Optimizer) =
    use scope = DisposalScope.Open()
    let loss = regression 11
    use g = generator 12
    let w0, b0 = Tensor.randn ([ 5 ], g), Tensor.randn ([ 1 ], g)
    // Uninterrupted: 8 steps.
    let w, b = w0.clone().RequireGrad(), b0.clone().RequireGrad()
    use opt = make [ "w", w; "b", b ]
    train opt loss w b 4
    let state = opt.State()
    let wMid, bMid = w.detach().clone (), b.detach().clone ()
    train opt loss w b 4
    // Interrupted after 4: fresh parameters and optimizer, state restored.
    let w2, b2 = (Tensor.zeros [ 5 ]).RequireGrad(), (Tensor.zeros [ 1 ]).RequireGrad()
    do
        use _ = Autograd.noGrad ()
        w2.copy_ wMid
        b2.copy_ bMid
    use opt2 = make [ "w", w2; "b", b2 ]
    Optim.loadState opt2 state
    train opt2 loss w2 b2 4
    Expect.equal (bits w2) (bits w) "bits w2"
    Expect.equal (bits b2) (bits b) "bits b2"
    // Without the state the continuation differs, so the comparison above can fail.
    let w3, b3 = wMid.clone().RequireGrad(), bMid.clone().RequireGrad()
    use opt3 = make [ "w", w3; "b", b3 ]
    train opt3 loss w3 b3 4
    Expect.notEqual (bits w3) (bits w) "bits w3"

[<Tests>]
let tests =
    testList "Optim" [
        test "adam_steps_match_float64_formula" {
            use scope = DisposalScope.Open()
            let w0 = [| 1.0; -2.0; 0.5; 3.0 |]
            let c = [| 1.0; 0.5; 2.0; 0.1 |]
            let options = { Optim.Adam.Defaults with Lr = 0.1 }
            let w = leaf w0
            use opt = Optim.adam options [ "w", w ]
            runSteps opt w c 3
            let expected = adamReference options false w0 (fun w -> Array.init w.Length (fun i -> 2.0 * c.[i] * w.[i])) 3
            assertClose 1e-12 1e-10 expected (w.ToFloat64s())
            // A single step moves each weight by lr against the gradient's sign (Adam's first step).
            let w1 = adamReference options false w0 (fun w -> Array.init w.Length (fun i -> 2.0 * c.[i] * w.[i])) 1
            assertClose 1e-8 0.0 (Array.map2 (fun a b -> a - 0.1 * float (sign b)) w0 w0) w1
        }

        test "adam_skips_a_parameter_the_last_backward_did_not_reach" {
            // UNICORN alternates steps over different parts of one model under one optimiser:
            // after ZeroGrad, a parameter outside the step's graph must stay where it is, although
            // its Adam momentum from earlier steps is not zero.
            use scope = DisposalScope.Open()
            let a = leaf [| 1.0; -2.0 |]
            let b = leaf [| 0.5; 3.0 |]
            use opt = Optim.adam { Optim.Adam.Defaults with Lr = 0.1 } [ "a", a; "b", b ]
            ((a * a).sum () + (b * b).sum ()).backward ()
            opt.Step()
            opt.ZeroGrad()
            Expect.isNone b.Grad "ZeroGrad releases the gradient"
            let bBefore = b.ToFloat64s()
            let aBefore = a.ToFloat64s()
            (a * a).sum().backward ()
            opt.Step()
            Expect.equal (b.ToFloat64s()) bBefore "b, outside the second backward, did not move"
            Expect.notEqual (a.ToFloat64s()) aBefore "a moved"
        }

        test "adam_and_adamw_weight_decay_match_formula" {
            use scope = DisposalScope.Open()
            let w0 = [| 0.3; -1.2; 2.0 |]
            let c = [| 1.0; 1.0; 0.25 |]
            let grad (w: float[]) = Array.init w.Length (fun i -> 2.0 * c.[i] * w.[i])
            for decoupled in [ false; true ] do
                let options = { (if decoupled then Optim.AdamW.Defaults else Optim.Adam.Defaults) with Lr = 0.05; WeightDecay = 0.3; Beta1 = 0.8 }
                let w = leaf w0
                use opt = (if decoupled then Optim.adamW else Optim.adam) options [ "w", w ]
                Expect.equal opt.Algorithm (if decoupled then "AdamW" else "Adam") "opt.Algorithm"
                runSteps opt w c 2
                assertClose 1e-12 1e-10 (adamReference options decoupled w0 grad 2) (w.ToFloat64s())
            // The two decays differ, so the test above could tell them apart.
            let a = adamReference { Optim.Adam.Defaults with Lr = 0.05; WeightDecay = 0.3 } false w0 grad 2
            let b = adamReference { Optim.Adam.Defaults with Lr = 0.05; WeightDecay = 0.3 } true w0 grad 2
            Expect.isTrue (Array.exists2 (fun x y -> abs (x - y) > 1e-6) a b) "Array.exists2 (fun x y -> abs (x - y) > 1e-6) a b"
        }

        test "sgd_momentum_steps_match_formula" {
            use scope = DisposalScope.Open()
            let w0 = [| 1.0; -0.5; 2.0 |]
            let c = [| 0.5; 1.0; 0.1 |]
            let o = { Optim.Sgd.Defaults with Lr = 0.1; Momentum = 0.9; Dampening = 0.2; WeightDecay = 0.01 }
            let w = leaf w0
            use opt = Optim.sgd o [ "w", w ]
            runSteps opt w c 3
            let expected =
                let w = Array.copy w0
                let buf = Array.zeroCreate<float> w.Length
                for t in 1 .. 3 do
                    for i in 0 .. w.Length - 1 do
                        let g = 2.0 * c.[i] * w.[i] + o.WeightDecay * w.[i]
                        buf.[i] <- if t = 1 then g else o.Momentum * buf.[i] + (1.0 - o.Dampening) * g
                        w.[i] <- w.[i] - o.Lr * buf.[i]
                w
            assertClose 1e-12 1e-10 expected (w.ToFloat64s())
        }

        test "sgd_plain_step_is_lr_times_gradient" {
            use scope = DisposalScope.Open()
            let w = leaf [| 1.0; 2.0 |]
            use opt = Optim.sgd { Optim.Sgd.Defaults with Lr = 0.25 } [ "w", w ]
            backwardQuadratic w [| 1.0; 3.0 |]
            opt.Step()
            // grad = (2, 12)
            assertClose 1e-12 0.0 [| 1.0 - 0.25 * 2.0; 2.0 - 0.25 * 12.0 |] (w.ToFloat64s())
        }

        test "adam_converges_on_quadratic" {
            use g = generator 3
            use outer = DisposalScope.Open()
            let target = Tensor.randn ([ 8 ], g)
            let w = (Tensor.zeros [ 8 ]).RequireGrad()
            use opt = Optim.adam { Optim.Adam.Defaults with Lr = 0.05 } [ "w", w ]
            let loss () =
                let d = w - target
                (d * d).sum ()
            let initial = (loss ()).ToScalar()
            for _ in 1 .. 400 do
                use scope = DisposalScope.Open()
                opt.ZeroGrad()
                (loss ()).backward ()
                opt.Step()
            let final = (loss ()).ToScalar()
            Expect.isTrue (initial > 1.0) (sprintf "initial loss %g" initial)
            Expect.isTrue (final < 1e-4) (sprintf "loss went from %g to %g" initial final)
        }

        test "schedules_are_pure_functions_of_iteration" {
            let base' = 1e-3
            let multi = Optim.MultiStep([ 100; 200 ], 0.2)
            Expect.equal (Optim.Schedule.lr multi base' 0) base' "Optim.Schedule.lr multi base' 0"
            Expect.equal (Optim.Schedule.lr multi base' 99) base' "Optim.Schedule.lr multi base' 99"
            assertClose 1e-18 1e-12 [| base' * 0.2; base' * 0.2; base' * 0.04 |]
                [| Optim.Schedule.lr multi base' 100; Optim.Schedule.lr multi base' 199; Optim.Schedule.lr multi base' 200 |]
            let stepDecay = Optim.StepDecay(10, 0.5)
            assertClose 1e-18 1e-12 [| base'; base'; base' * 0.5; base' * 0.25 |]
                ([ 0; 9; 10; 25 ] |> List.map (Optim.Schedule.lr stepDecay base') |> Array.ofList)
            let cosine = Optim.Cosine(100, 1e-5)
            assertClose 1e-18 1e-12 [| base'; (base' + 1e-5) / 2.0; 1e-5; 1e-5 |]
                ([ 0; 50; 100; 150 ] |> List.map (Optim.Schedule.lr cosine base') |> Array.ofList)
            let lrs = [ 0 .. 100 ] |> List.map (Optim.Schedule.lr cosine base')
            Expect.isTrue (List.pairwise lrs |> List.forall (fun (a, b) -> b <= a)) "cosine must not increase"
            let warm = Optim.Warmup(4, Optim.Constant)
            assertClose 1e-18 1e-12 [| base' / 4.0; base' / 2.0; base' * 0.75; base'; base' |]
                ([ 0 .. 4 ] |> List.map (Optim.Schedule.lr warm base') |> Array.ofList)
            Expect.throwsT<ArgumentException> (fun () -> Optim.Schedule.lr Optim.Constant base' -1 |> ignore) "Optim.Schedule.lr Optim.Constant base' -1"
        }

        test "schedule_changes_the_optimizer_lr_and_the_step" {
            use scope = DisposalScope.Open()
            let w = leaf [| 1.0 |]
            use opt = Optim.sgd { Optim.Sgd.Defaults with Lr = 0.1 } [ "w", w ]
            Expect.equal opt.Lr 0.1 "opt.Lr"
            let schedule = Optim.MultiStep([ 5 ], 0.2)
            Expect.equal (Optim.applySchedule opt schedule 0.1 4) 0.1 "Optim.applySchedule opt schedule 0.1 4"
            Expect.equal opt.Lr 0.1 "opt.Lr"
            let lr = Optim.applySchedule opt schedule 0.1 5
            Expect.equalRounded 15 lr (0.1 * 0.2) "lr"
            Expect.equal (Optim.lr opt) lr "Optim.lr opt"
            // The step uses the new rate: grad of w^2 at 1 is 2.
            backwardQuadratic w [| 1.0 |]
            Optim.step opt
            assertClose 1e-12 0.0 [| 1.0 - lr * 2.0 |] (w.ToFloat64s())
            Expect.throwsT<ArgumentException> (fun () -> Optim.setLr opt -1.0) "Optim.setLr opt -1.0"
        }

        test "state_export_names_and_values" {
            use scope = DisposalScope.Open()
            let w = leaf [| 1.0; -1.0 |]
            let b = leaf [| 0.5 |]
            use opt = Optim.adam Optim.Adam.Defaults [ "layer.w", w; "layer.b", b ]
            // Before any step: only the learning rate.
            Expect.equal (opt.State() |> List.map fst) [ "optim.lr" ] "opt.State() |> List.map fst"
            backwardQuadratic w [| 1.0; 1.0 |]
            opt.Step()
            // b had no gradient, so it has no state (PyTorch skips it too).
            let state = Optim.state opt
            Expect.equal (state |> List.map fst) [ "optim.lr"; "optim.layer.w.step"; "optim.layer.w.exp_avg"; "optim.layer.w.exp_avg_sq" ] "state |> List.map fst"
            let find n = state |> List.find (fst >> (=) n) |> snd
            Expect.equal ((find "optim.layer.w.step").Dtype) Dtype.Int64 "(find \"optim.layer.w.step\").Dtype"
            Expect.equal ((find "optim.layer.w.step").ToScalar()) 1.0 "(find \"optim.layer.w.step\").ToScalar()"
            // exp_avg after one step = (1 - beta1) * grad, grad = 2w.
            assertClose 1e-12 1e-12 [| 0.1 * 2.0; 0.1 * -2.0 |] ((find "optim.layer.w.exp_avg").ToFloat64s())
            use amsgrad = Optim.adam { Optim.Adam.Defaults with Amsgrad = true } [ "w", (Tensor.zeros [ 2 ]).RequireGrad() ]
            Expect.equal amsgrad.StateKeys [ "step"; "exp_avg"; "exp_avg_sq"; "max_exp_avg_sq" ] "amsgrad.StateKeys"
        }

        test "adam_resume_from_exported_state_is_bit_exact" {
            resumeIsBitExact (Optim.adam { Optim.Adam.Defaults with Lr = 0.01; Amsgrad = true })
        }

        test "sgd_momentum_resume_from_exported_state_is_bit_exact" {
            resumeIsBitExact (Optim.sgd { Optim.Sgd.Defaults with Lr = 0.01; Momentum = 0.9 })
        }

        test "load_state_rejects_bad_state_naming_the_tensor" {
            use scope = DisposalScope.Open()
            let w = leaf [| 1.0; 2.0 |]
            use opt = Optim.adam Optim.Adam.Defaults [ "w", w ]
            backwardQuadratic w [| 1.0; 1.0 |]
            opt.Step()
            let state = opt.State()
            use fresh = Optim.adam Optim.Adam.Defaults [ "w", leaf [| 0.0; 0.0 |] ]
            let replace name (t: Tensor) = state |> List.map (fun (n, x) -> if n = name then n, t else n, x)
            assertThrowsWith<ArgumentException> "'optim.w.exp_avg' is float64 [3]" (fun () ->
                fresh.LoadState(replace "optim.w.exp_avg" (Tensor.zeros ([ 3 ], Float64))))
            assertThrowsWith<ArgumentException> "missing 'optim.w.exp_avg_sq'" (fun () ->
                fresh.LoadState(state |> List.filter (fst >> (<>) "optim.w.exp_avg_sq")))
            assertThrowsWith<ArgumentException> "unexpected tensor 'optim.v.step'" (fun () ->
                fresh.LoadState(state @ [ "optim.v.step", Tensor.scalar (1.0, Int64) ]))
            assertThrowsWith<ArgumentException> "'optim.w.step' must be one int64" (fun () ->
                fresh.LoadState(replace "optim.w.step" (Tensor.scalar (1.0, Float32))))
            // Failed loads changed nothing; the optimizer that already has state refuses an empty one.
            Expect.equal (fresh.State() |> List.map fst) [ "optim.lr" ] "fresh.State() |> List.map fst"
            assertThrowsWith<ArgumentException> "already has state" (fun () -> opt.LoadState [])
            use sgd = Optim.sgd Optim.Sgd.Defaults [ "w", leaf [| 0.0; 0.0 |] ]
            assertThrowsWith<ArgumentException> "unexpected tensor 'optim.w.step'" (fun () -> sgd.LoadState state)
        }

        test "creation_rejects_bad_parameters_and_options" {
            use scope = DisposalScope.Open()
            let w = leaf [| 1.0 |]
            assertThrowsWith<ArgumentException> "'w' appears twice" (fun () -> Optim.adam Optim.Adam.Defaults [ "w", w; "w", leaf [| 2.0 |] ] |> ignore)
            assertThrowsWith<ArgumentException> "parameter 'x' must be a leaf" (fun () -> Optim.adam Optim.Adam.Defaults [ "x", Tensor.ofArray [| 1.0 |] ] |> ignore)
            assertThrowsWith<ArgumentException> "parameter 'y' must be a leaf" (fun () -> Optim.sgd Optim.Sgd.Defaults [ "y", w * 2.0 ] |> ignore)
            assertThrowsWith<ArgumentException> "'i' must be float32 or float64" (fun () -> Optim.sgd Optim.Sgd.Defaults [ "i", Tensor.ofArray [| 1L |] ] |> ignore)
            assertThrowsWith<ArgumentException> "Beta1 must be in [0, 1)" (fun () -> Optim.adam { Optim.Adam.Defaults with Beta1 = 1.0 } [ "w", w ] |> ignore)
            assertThrowsWith<ArgumentException> "Nesterov needs Momentum > 0" (fun () -> Optim.sgd { Optim.Sgd.Defaults with Nesterov = true } [ "w", w ] |> ignore)
            assertThrowsWith<ArgumentException> "parameter list is empty" (fun () -> Optim.adamW Optim.AdamW.Defaults [] |> ignore)
            Expect.equal Optim.AdamW.Defaults.WeightDecay 1e-2 "Optim.AdamW.Defaults.WeightDecay"
        }

        test "disposed_optimizer_fails_clearly" {
            use scope = DisposalScope.Open()
            let opt = Optim.sgd Optim.Sgd.Defaults [ "w", leaf [| 1.0 |] ]
            (opt :> IDisposable).Dispose()
            Expect.throwsT<ObjectDisposedException> (fun () -> opt.Step()) "opt.Step()"
        }

        testSequenced <| test "optimizer_steps_keep_memory_flat" {
            use outer = DisposalScope.Open()
            let loss = regression 5
            let w, b = (Tensor.zeros [ 5 ]).RequireGrad(), (Tensor.zeros [ 1 ]).RequireGrad()
            use opt = Optim.adam Optim.Adam.Defaults [ "w", w; "b", b ]
            train opt loss w b 2
            let before = settledLiveCount ()
            train opt loss w b 20
            Expect.equal Tensor.LiveCount before "Tensor.LiveCount"
        }
    ]
