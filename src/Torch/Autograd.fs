/// Differentiation in the style of DiffSharp: `grad f x`, `fgrad f x`, plus grad-mode scopes.
module Reconstruct.Torch.Autograd

open System
open Reconstruct.Torch.Native

/// Turns gradient recording off on this thread until disposed, then restores the old mode.
type NoGradScope() =
    do ensureLoaded ()
    let previous = rc_autograd_set_enabled 0
    interface IDisposable with
        member _.Dispose() = rc_autograd_set_enabled previous |> ignore

/// A scope in which no operation records gradients (`use _ = Autograd.noGrad ()`).
let noGrad () = new NoGradScope()

/// Turns gradient recording on until disposed, then restores the old mode. The
/// differentiation functions below use it, so an explicit `grad` works inside `noGrad`.
type EnableGradScope() =
    do ensureLoaded ()
    let previous = rc_autograd_set_enabled 1
    interface IDisposable with
        member _.Dispose() = rc_autograd_set_enabled previous |> ignore

let enableGrad () = new EnableGradScope()

let isGradEnabled () =
    ensureLoaded ()
    rc_autograd_is_enabled () = 1

/// d(sum of outputs · gradOutputs)/d(inputs). `createGraph` keeps the result differentiable.
/// Outputs that do not depend on anything differentiable contribute zero.
let gradients (outputs: Tensor[]) (gradOutputs: Tensor[] option) (inputs: Tensor[]) (createGraph: bool) : Tensor[] =
    let result = Array.zeroCreate<nativeint> inputs.Length
    let live = outputs |> Array.map (fun o -> o.RequiresGrad)
    let outs = Array.zip outputs live |> Array.filter snd |> Array.map (fun (o, _) -> o.Ptr)
    let grads =
        gradOutputs
        |> Option.map (fun gs -> Array.zip gs live |> Array.filter snd |> Array.map (fun (g, _) -> g.Ptr))
        |> Option.toObj
    if outs.Length > 0 then
        check (
            rc_autograd_grad (
                outs, grads, outs.Length,
                inputs |> Array.map (fun i -> i.Ptr), inputs.Length,
                (if createGraph then 1 else 0), (if createGraph then 1 else 0), 1, result))
    GC.KeepAlive outputs
    GC.KeepAlive inputs
    GC.KeepAlive gradOutputs
    result
    |> Array.mapi (fun k p -> if p = 0n then inputs.[k].zerosLike () else Tensor.OfPtr p)

// A differentiation variable: the input itself when an outer differentiation is already
// tracking it (so nesting gives higher-order gradients), else a fresh leaf.
let private variable (x: Tensor) =
    if x.RequiresGrad then x, true
    else (x.detach ()).RequireGrad(), false

// The value to return, and the release of what this differentiation created: a fresh leaf,
// and the output that holds the graph through it (it requires grad only through the leaf, so
// f created it). With `nested`, both belong to the outer differentiation.
let private finish (nested: bool) (leaves: Tensor[]) (y: Tensor) =
    if nested then y
    else
        let value = y.detach ()
        if y.RequiresGrad then (y :> IDisposable).Dispose()
        for v in leaves do
            (v :> IDisposable).Dispose()
        value

/// The value f(x) (a scalar) and its gradient with respect to x, same shape as x.
let fgrad (f: Tensor -> Tensor) (x: Tensor) : Tensor * Tensor =
    use _ = enableGrad ()
    let v, nested = variable x
    let y = f v
    if y.Numel <> 1 then
        invalidArg "f" (sprintf "grad: f must return a scalar, returned shape %s" (Shape.text y.Shape))
    let g = (gradients [| y |] None [| v |] nested).[0]
    finish nested [| v |] y, g

/// The gradient of a scalar function f at x.
let grad (f: Tensor -> Tensor) (x: Tensor) : Tensor = snd (fgrad f x)

/// The value f(xs) and its gradients with respect to each input.
let fgrads (f: Tensor[] -> Tensor) (xs: Tensor[]) : Tensor * Tensor[] =
    use _ = enableGrad ()
    let vs = xs |> Array.map variable
    let nested = vs |> Array.exists snd
    let y = f (Array.map fst vs)
    let gs = gradients [| y |] None (Array.map fst vs) nested
    finish nested (vs |> Array.filter (snd >> not) |> Array.map fst) y, gs

/// Vector-Jacobian product: the value f(x) and vᵀ·J at x.
let fvjp (f: Tensor -> Tensor) (x: Tensor) (v: Tensor) : Tensor * Tensor =
    use _ = enableGrad ()
    let xv, nested = variable x
    let y = f xv
    let g = (gradients [| y |] (Some [| v |]) [| xv |] nested).[0]
    finish nested [| xv |] y, g
