/// Optimizers over an explicit list of named parameters (libtorch's torch::optim underneath),
/// learning-rate schedules as pure functions of the iteration, and the optimizer state as named
/// tensors for checkpoints.
///
///     use opt = Optim.adam { Optim.Adam.Defaults with Lr = 1e-4 } [ "w", w; "b", b ]
///     loss.backward ()
///     opt.Step ()
///     opt.ZeroGrad ()
module Reconstruct.Torch.Optim

open System
open System.Collections.Generic
open System.Runtime.InteropServices
open Reconstruct.Torch.Native

/// Adam and AdamW options; the defaults are PyTorch's (`torch.optim.Adam`).
type Adam =
    { Lr: float
      Beta1: float
      Beta2: float
      Eps: float
      /// Adam adds `WeightDecay * p` to the gradient (L2); AdamW decays the weights directly.
      WeightDecay: float
      Amsgrad: bool }

    static member Defaults =
        { Lr = 1e-3; Beta1 = 0.9; Beta2 = 0.999; Eps = 1e-8; WeightDecay = 0.0; Amsgrad = false }

/// AdamW takes the `Adam` options; only the weight-decay default differs (PyTorch's 1e-2).
[<RequireQualifiedAccess>]
module AdamW =
    /// `Adam.Defaults` with WeightDecay 1e-2. A module value, as AdamW has no options type of
    /// its own, spelled like the types' `Defaults` so every call site reads `X.Defaults`.
    let Defaults = { Adam.Defaults with WeightDecay = 1e-2 }

/// SGD options. PyTorch's defaults (its `lr` default is 1e-3 since 2.2).
type Sgd =
    { Lr: float
      Momentum: float
      Dampening: float
      WeightDecay: float
      Nesterov: bool }

    static member Defaults = { Lr = 1e-3; Momentum = 0.0; Dampening = 0.0; WeightDecay = 0.0; Nesterov = false }

/// The prefix of every optimizer-state tensor name: "optim.<paramName>.<key>", plus "optim.lr".
[<Literal>]
let StatePrefix = "optim."

/// Name of the learning-rate entry in the exported state (a 0-d float64 tensor).
[<Literal>]
let LrName = "optim.lr"

/// The state tensor name of one parameter's state entry.
let stateName (paramName: string) (key: string) = StatePrefix + paramName + "." + key

type internal OptimizerHandle(ptr: nativeint) =
    inherit SafeHandle(ptr, true)
    override this.IsInvalid = this.handle = 0n

    override this.ReleaseHandle() =
        rc_optim_free this.handle
        true


/// An optimizer over named parameters. Owns native state (moments, momentum buffers): dispose it.
/// It holds its own references to the parameters, so it updates them in place for as long as
/// it lives, whatever becomes of the F# `Tensor` objects passed in.
[<Sealed>]
type Optimizer internal (algorithm: string, handle: OptimizerHandle, names: string[], shapes: int[][], dtypes: Dtype[],
                         keys: string list) =

    member _.Algorithm = algorithm
    /// Parameter names, in the order given at creation.
    member _.ParameterNames = names
    /// The per-parameter state keys this optimizer keeps (e.g. "step", "exp_avg", "exp_avg_sq").
    member _.StateKeys = keys

    member private _.Ptr =
        if handle.IsClosed then raise (ObjectDisposedException("Optimizer", sprintf "the %s optimizer was disposed" algorithm))
        handle.DangerousGetHandle()

    /// One update of every parameter from its accumulated gradient (parameters without a
    /// gradient are skipped, as in PyTorch).
    member o.Step() = check (rc_optim_step o.Ptr)

    /// Releases every parameter's accumulated gradient (PyTorch's set_to_none): a parameter
    /// the next backward does not reach is skipped by the next `Step`, not moved by momentum.
    member o.ZeroGrad() = check (rc_optim_zero_grad o.Ptr)

    /// The learning rate (of every parameter group; there is one).
    member o.Lr
        with get () =
            let mutable lr = 0.0
            check (rc_optim_get_lr (o.Ptr, &lr))
            lr
        and set (lr: float) =
            if not (lr >= 0.0) || Double.IsInfinity lr then
                invalidArg "lr" (sprintf "%s: learning rate must be finite and >= 0, received %g" algorithm lr)
            check (rc_optim_set_lr (o.Ptr, lr))

    member private o.TryGetState(index: int, key: string) : Tensor option =
        rc_error_clear ()
        let p = rc_optim_state_get (o.Ptr, index, key)
        if p <> 0n then Some(Tensor.OfPtr p)
        elif String.IsNullOrEmpty(Marshal.PtrToStringUTF8(rc_error_message ())) then None
        else raise (NativeError(lastError ()))

    /// The state as named tensors (copies, owned by the caller or the current disposal scope):
    /// "optim.lr" (0-d float64) and, for each parameter that has state, "optim.<name>.<key>".
    /// Adam: "step" (0-d int64), "exp_avg", "exp_avg_sq" (+ "max_exp_avg_sq" with amsgrad), shaped
    /// like the parameter; SGD with momentum: "momentum_buffer".
    member o.State() : (string * Tensor) list =
        [ yield LrName, Tensor.scalar (o.Lr, Dtype.Float64)
          for i in 0 .. names.Length - 1 do
              for key in keys do
                  match o.TryGetState(i, key) with
                  | Some t -> yield stateName names.[i] key, t
                  | None -> () ]

    /// Restores state exported by `State()` (other tensors in the list, not starting with
    /// "optim.", are ignored, so a whole checkpoint can be passed). Each parameter gets all of its
    /// keys or none; a parameter that already has state must be given state (restore into a
    /// fresh optimizer). Errors name the offending tensor.
    member o.LoadState(tensors: (string * Tensor) list) =
        let byName = Dictionary<string, Tensor>()
        for name, t in tensors do
            if name.StartsWith StatePrefix then
                if byName.ContainsKey name then
                    invalidArg "tensors" (sprintf "%s.LoadState: tensor '%s' appears twice" algorithm name)
                byName.[name] <- t
        let used = HashSet<string>()
        // Validate everything before changing anything.
        let plan =
            [ for i in 0 .. names.Length - 1 do
                  let present = keys |> List.filter (fun k -> byName.ContainsKey(stateName names.[i] k))
                  if present.IsEmpty then
                      let hasState =
                          keys
                          |> List.exists (fun k ->
                              match o.TryGetState(i, k) with
                              | Some t ->
                                  (t :> IDisposable).Dispose()
                                  true
                              | None -> false)
                      if hasState then
                          invalidArg "tensors" (sprintf "%s.LoadState: no state for parameter '%s', which already has state (load into a fresh optimizer)" algorithm names.[i])
                  else
                      for k in keys do
                          let name = stateName names.[i] k
                          match byName.TryGetValue name with
                          | false, _ ->
                              invalidArg "tensors" (sprintf "%s.LoadState: missing '%s' (parameter '%s' has %s)" algorithm name names.[i] (present |> List.map (stateName names.[i]) |> String.concat ", "))
                          | true, t ->
                              used.Add name |> ignore
                              if k = "step" then
                                  if t.Dtype <> Dtype.Int64 || t.Numel <> 1 then
                                      invalidArg "tensors" (sprintf "%s.LoadState: '%s' must be one int64, received %s %s" algorithm name (Dtype.name t.Dtype) (Shape.text t.Shape))
                                  let step = t.ToScalar()
                                  if step < 0.0 then invalidArg "tensors" (sprintf "%s.LoadState: '%s' is negative (%g)" algorithm name step)
                              elif t.Shape <> shapes.[i] || t.Dtype <> dtypes.[i] then
                                  invalidArg "tensors" (sprintf "%s.LoadState: '%s' is %s %s, parameter '%s' is %s %s" algorithm name (Dtype.name t.Dtype) (Shape.text t.Shape) names.[i] (Dtype.name dtypes.[i]) (Shape.text shapes.[i]))
                              yield i, k, t ]
        let lr =
            match byName.TryGetValue LrName with
            | true, t ->
                used.Add LrName |> ignore
                if t.Numel <> 1 then invalidArg "tensors" (sprintf "%s.LoadState: '%s' must hold one value, received shape %s" algorithm LrName (Shape.text t.Shape))
                Some(t.ToScalar())
            | _ -> None
        for name in byName.Keys do
            if not (used.Contains name) then
                invalidArg "tensors" (sprintf "%s.LoadState: unexpected tensor '%s' (parameters: %s; keys: %s)" algorithm name (String.Join(", ", names)) (String.Join(", ", keys)))
        for i, k, t in plan do
            check (rc_optim_state_set (o.Ptr, i, k, t.Ptr))
            GC.KeepAlive t
        lr |> Option.iter (fun v -> o.Lr <- v)

    interface IDisposable with
        member _.Dispose() = handle.Dispose()

let private validateParameters (what: string) (parameters: (string * Tensor) list) =
    if parameters.IsEmpty then invalidArg "parameters" (sprintf "%s: the parameter list is empty" what)
    let seen = HashSet<string>()
    for name, t in parameters do
        if String.IsNullOrEmpty name then invalidArg "parameters" (sprintf "%s: a parameter has an empty name" what)
        if not (seen.Add name) then invalidArg "parameters" (sprintf "%s: parameter name '%s' appears twice" what name)
        if isNull t || t.IsDisposed then invalidArg "parameters" (sprintf "%s: parameter '%s' is null or disposed" what name)
        if t.Dtype <> Dtype.Float32 && t.Dtype <> Dtype.Float64 then
            invalidArg "parameters" (sprintf "%s: parameter '%s' must be float32 or float64, received %s" what name (Dtype.name t.Dtype))
        if not t.IsLeaf || not t.RequiresGrad then
            invalidArg "parameters" (sprintf "%s: parameter '%s' must be a leaf that requires grad (call .RequireGrad())" what name)

let private create (algorithm: string) (keys: string list) (parameters: (string * Tensor) list) (make: nativeint[] -> nativeint) =
    ensureLoaded ()
    validateParameters algorithm parameters
    let tensors = parameters |> List.map snd |> Array.ofList
    let ptr = make (tensors |> Array.map (fun t -> t.Ptr))
    GC.KeepAlive tensors
    let handle = new OptimizerHandle(checkHandle ptr)
    new Optimizer(algorithm, handle, parameters |> List.map fst |> Array.ofList,
                  tensors |> Array.map (fun t -> t.Shape), tensors |> Array.map (fun t -> t.Dtype), keys)

let private checkAdam (what: string) (o: Adam) =
    let bad field value rule = invalidArg "options" (sprintf "%s: %s must be %s, received %g" what field rule value)
    if not (o.Lr >= 0.0) || Double.IsInfinity o.Lr then bad "Lr" o.Lr "finite and >= 0"
    if not (o.Beta1 >= 0.0 && o.Beta1 < 1.0) then bad "Beta1" o.Beta1 "in [0, 1)"
    if not (o.Beta2 >= 0.0 && o.Beta2 < 1.0) then bad "Beta2" o.Beta2 "in [0, 1)"
    if not (o.Eps >= 0.0) then bad "Eps" o.Eps ">= 0"
    if not (o.WeightDecay >= 0.0) then bad "WeightDecay" o.WeightDecay ">= 0"

let private adamKeys (o: Adam) =
    [ "step"; "exp_avg"; "exp_avg_sq" ] @ (if o.Amsgrad then [ "max_exp_avg_sq" ] else [])

/// Adam (L2 weight decay added to the gradient). parameters: named leaf tensors, float32/float64.
let adam (options: Adam) (parameters: (string * Tensor) list) : Optimizer =
    checkAdam "Optim.adam" options
    create "Adam" (adamKeys options) parameters (fun ps ->
        rc_optim_adam_new (ps, ps.Length, options.Lr, options.Beta1, options.Beta2, options.Eps, options.WeightDecay,
                           (if options.Amsgrad then 1 else 0), 0))

/// AdamW (decoupled weight decay: p <- p - lr * WeightDecay * p before the Adam update).
let adamW (options: Adam) (parameters: (string * Tensor) list) : Optimizer =
    checkAdam "Optim.adamW" options
    create "AdamW" (adamKeys options) parameters (fun ps ->
        rc_optim_adam_new (ps, ps.Length, options.Lr, options.Beta1, options.Beta2, options.Eps, options.WeightDecay,
                           (if options.Amsgrad then 1 else 0), 1))

/// SGD, optionally with momentum (PyTorch's formulation: buf <- momentum*buf + (1-dampening)*g,
/// p <- p - lr*buf; the first step sets buf <- g).
let sgd (options: Sgd) (parameters: (string * Tensor) list) : Optimizer =
    let bad field (value: float) rule = invalidArg "options" (sprintf "Optim.sgd: %s must be %s, received %g" field rule value)
    if not (options.Lr >= 0.0) || Double.IsInfinity options.Lr then bad "Lr" options.Lr "finite and >= 0"
    if not (options.Momentum >= 0.0) then bad "Momentum" options.Momentum ">= 0"
    if not (options.WeightDecay >= 0.0) then bad "WeightDecay" options.WeightDecay ">= 0"
    if options.Nesterov && (options.Momentum <= 0.0 || options.Dampening <> 0.0) then
        invalidArg "options" (sprintf "Optim.sgd: Nesterov needs Momentum > 0 and Dampening = 0, received Momentum %g, Dampening %g" options.Momentum options.Dampening)
    create "SGD" [ "momentum_buffer" ] parameters (fun ps ->
        rc_optim_sgd_new (ps, ps.Length, options.Lr, options.Momentum, options.Dampening, options.WeightDecay,
                          (if options.Nesterov then 1 else 0)))

/// One update from the accumulated gradients.
let step (o: Optimizer) = o.Step()

/// Zeroes the parameters' gradients.
let zeroGrad (o: Optimizer) = o.ZeroGrad()

let lr (o: Optimizer) = o.Lr

let setLr (o: Optimizer) (value: float) = o.Lr <- value

/// The optimizer state as named tensors ("optim.lr", "optim.<param>.<key>"), for a checkpoint.
let state (o: Optimizer) = o.State()

/// Restores state from named tensors (see `Optimizer.LoadState`).
let loadState (o: Optimizer) (tensors: (string * Tensor) list) = o.LoadState tensors

/// A learning-rate schedule: a factor of the base rate as a pure function of the iteration
/// (the number of optimizer steps already taken, from 0).
type Schedule =
    /// The base rate throughout.
    | Constant
    /// Multiplied by `gamma` at each milestone: from iteration m on, for every m in `milestones`
    /// (PyTorch's MultiStepLR). "x0.2 at iteration N" is `MultiStep([N], 0.2)`.
    | MultiStep of milestones: int list * gamma: float
    /// Multiplied by `gamma` every `every` iterations (PyTorch's StepLR).
    | StepDecay of every: int * gamma: float
    /// Cosine annealing from the base rate to `minLr` over `total` iterations, then `minLr`
    /// (PyTorch's CosineAnnealingLR over one half-period).
    | Cosine of total: int * minLr: float
    /// Linear warm-up: (iteration + 1) / iterations of the inner schedule's rate during the
    /// first `iterations` iterations, then the inner schedule.
    | Warmup of iterations: int * schedule: Schedule

[<RequireQualifiedAccess>]
module Schedule =
    /// The learning rate at `iteration` (>= 0) for base rate `baseLr`.
    let rec lr (schedule: Schedule) (baseLr: float) (iteration: int) : float =
        if iteration < 0 then invalidArg "iteration" (sprintf "Schedule.lr: iteration must be >= 0, received %d" iteration)
        match schedule with
        | Constant -> baseLr
        | MultiStep (milestones, gamma) ->
            let passed = milestones |> List.filter (fun m -> m <= iteration) |> List.length
            baseLr * Math.Pow(gamma, float passed)
        | StepDecay (every, gamma) ->
            if every <= 0 then invalidArg "schedule" (sprintf "Schedule.lr: StepDecay period must be > 0, received %d" every)
            baseLr * Math.Pow(gamma, float (iteration / every))
        | Cosine (total, minLr) ->
            if total <= 0 then invalidArg "schedule" (sprintf "Schedule.lr: Cosine length must be > 0, received %d" total)
            if iteration >= total then minLr
            else minLr + (baseLr - minLr) * 0.5 * (1.0 + Math.Cos(Math.PI * float iteration / float total))
        | Warmup (iterations, inner) ->
            let value = lr inner baseLr iteration
            if iteration < iterations then value * float (iteration + 1) / float iterations else value

/// Sets the optimizer's learning rate to the schedule's value at `iteration`; returns it.
let applySchedule (o: Optimizer) (schedule: Schedule) (baseLr: float) (iteration: int) : float =
    let value = Schedule.lr schedule baseLr iteration
    o.Lr <- value
    value
