module Reconstruct.Torch.Scoped

let inline run ([<InlineIfLambda>] f: unit -> Tensor) =
    use scope = DisposalScope.Open()
    scope.MoveOut(f ())

let inline run2 ([<InlineIfLambda>] f: unit -> Tensor * Tensor) =
    use scope = DisposalScope.Open()
    let a, b = f ()
    scope.MoveOut a, scope.MoveOut b

let inline run3 ([<InlineIfLambda>] f: unit -> Tensor * Tensor * Tensor) =
    use scope = DisposalScope.Open()
    let a, b, c = f ()
    scope.MoveOut a, scope.MoveOut b, scope.MoveOut c

let host64 (t: Tensor) =
    use _ = DisposalScope.Open()
    t.ToFloat64s()

let hostInt64 (t: Tensor) =
    use _ = DisposalScope.Open()
    t.ToInt64s()
