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

let isGradEnabled () =
    ensureLoaded ()
    rc_autograd_is_enabled () = 1

/// d(sum of outputs · gradOutputs)/d(inputs). `createGraph` keeps the result differentiable.
let gradients (outputs: Tensor[]) (gradOutputs: Tensor[] option) (inputs: Tensor[]) (createGraph: bool) : Tensor[] =
    let result = Array.zeroCreate<nativeint> inputs.Length
    let grads = gradOutputs |> Option.map (Array.map (fun g -> g.Ptr)) |> Option.toObj
    check (
        rc_autograd_grad (
            outputs |> Array.map (fun o -> o.Ptr), grads, outputs.Length,
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

/// The value f(x) (a scalar) and its gradient with respect to x, same shape as x.
let fgrad (f: Tensor -> Tensor) (x: Tensor) : Tensor * Tensor =
    let v, nested = variable x
    let y = f v
    if y.Numel <> 1 then
        invalidArg "f" (sprintf "grad: f must return a scalar, returned shape [%s]" (y.Shape |> Array.map string |> String.concat ", "))
    let g = (gradients [| y |] None [| v |] nested).[0]
    (if nested then y else y.detach ()), g

/// The gradient of a scalar function f at x.
let grad (f: Tensor -> Tensor) (x: Tensor) : Tensor = snd (fgrad f x)

/// The value f(xs) and its gradients with respect to each input.
let fgrads (f: Tensor[] -> Tensor) (xs: Tensor[]) : Tensor * Tensor[] =
    let vs = xs |> Array.map variable
    let nested = vs |> Array.exists snd
    let y = f (Array.map fst vs)
    let gs = gradients [| y |] None (Array.map fst vs) nested
    (if nested then y else y.detach ()), gs

/// Vector-Jacobian product: the value f(x) and vᵀ·J at x.
let fvjp (f: Tensor -> Tensor) (x: Tensor) (v: Tensor) : Tensor * Tensor =
    let xv, nested = variable x
    let y = f xv
    let g = (gradients [| y |] (Some [| v |]) [| xv |] nested).[0]
    (if nested then y else y.detach ()), g
