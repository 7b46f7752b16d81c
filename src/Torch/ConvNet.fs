module Reconstruct.Torch.ConvNet

open Reconstruct.Torch.Layers

type Model = { Convs: Conv2d list; Head: Mlp }

let create (generator: Generator) (channels: int list) (head: int list) =
    { Convs =
        3 :: channels
        |> List.pairwise
        |> List.map (fun (i, o) -> Conv2d.create generator { Conv2d.spec i o 3 with Stride = 2; Padding = 1 })
      Head = Mlp.create generator (Mlp.spec head) }

let benchmarkModel (generator: Generator) = create generator [ 16; 32; 64; 128 ] [ 128; 128; 10 ]

let parameters (model: Model) : Named =
    (model.Convs |> List.mapi (fun k c -> Conv2d.parameters c |> Named.prefix (sprintf "conv%d" k)) |> List.concat)
    @ (Mlp.parameters model.Head |> Named.prefix "head")

let forward (model: Model) (x: Tensor) =
    use scope = DisposalScope.Open()
    let features = model.Convs |> List.fold (fun h c -> Conv2d.apply c h |> Functional.relu) x
    scope.MoveOut(Mlp.apply model.Head (features.mean ([| 2; 3 |])))

let trainStep (model: Model) (optimizer: Optim.Optimizer) (x: Tensor) (target: Tensor) =
    use scope = DisposalScope.Open()
    optimizer.ZeroGrad()
    let loss = Functional.mseLoss Reduction.Mean (forward model x) target
    loss.backward ()
    optimizer.Step()
    loss.ToScalar()
