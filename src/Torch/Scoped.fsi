/// Running tensor code in a disposal scope of its own and keeping only the result: how a
/// library function frees its intermediates without asking its caller to open a scope.
module Reconstruct.Torch.Scoped

/// Runs `f` in a disposal scope and moves its result out to the caller's scope.
val inline run: [<InlineIfLambda>] f: (unit -> Tensor) -> Tensor

/// As `run`, keeping two results.
val inline run2: [<InlineIfLambda>] f: (unit -> Tensor * Tensor) -> Tensor * Tensor

/// As `run`, keeping three results.
val inline run3: [<InlineIfLambda>] f: (unit -> Tensor * Tensor * Tensor) -> Tensor * Tensor * Tensor

/// The values as float64 on the host; a dtype conversion's temporary is freed at once.
val host64: t: Tensor -> float[]

/// The values as int64 on the host, freeing any conversion temporary.
val hostInt64: t: Tensor -> int64[]
