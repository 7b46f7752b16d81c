// Where an Unsup3d checkpoint's depth and albedo decoders lose their dependence on the image:
// for the first 64 val images, each stage of both encoder-decoders (the code, every up block,
// the refinements, the output) with its mean |x|, its spread over the images and their ratio.
// A decoder whose ratio falls to a few per cent gives every image nearly the same map. Traced on
// diag_oracle_nolight_long (true views, no lighting, 1,241 steps): the depth's code ratio 0.48,
// 0.27 after the first up block, 0.08 from the second (its GroupNorm) to the output; the
// albedo's output 1.0. For diagnosis; it changes nothing.
// Run: dotnet fsi experiments/unsup3d_trace.fsx RUN_DIR [CHECKPOINT]
#load "unsup3d_run.fsx"

open Reconstruct.Torch
open Reconstruct.Torch.Layers
open Reconstruct.Data

module U = Reconstruct.Stages.Unsup3d

let _, set, model, _, _ = Unsup3d_run.loadFromArgs "dotnet fsi experiments/unsup3d_trace.fsx RUN_DIR [CHECKPOINT]"

let n = min 64 set.Count
let images = Tensor.cat ([ for s in 0 .. n - 1 -> SingleView.image set s ], 0) * 2.0 - 1.0

let normalised (norm: GroupNorm option) (x: Tensor) =
    match norm with
    | Some g -> GroupNorm.apply g x
    | None -> x

/// One line per stage: (n, ...) activations flattened per image.
let report (label: string) (x: Tensor) =
    use scope = DisposalScope.Open()
    let flat = x.reshape [ n; -1 ]
    let overImages = (flat.std 0).mean().ToScalar()
    let magnitude = flat.abs().mean().ToScalar()
    let positive = (flat.gt 0.0).cast(Float32).mean().ToScalar()
    printfn "  %-9s %-16s mean |x| %.4f, spread over images %.4f (ratio %.3f), share > 0 %.2f"
        label (Shape.text x.Shape) magnitude overImages (overImages / (magnitude + 1e-12)) positive

// The same layers as `EDDeconv.apply`, stage by stage.
let trace () =
    use _ = Autograd.noGrad ()
    for name, network in [ "depth", model.Depth; "albedo", model.Albedo ] do
        use scope = DisposalScope.Open()
        printfn "%s decoder:" name
        let down =
            network.Down.Blocks
            |> List.fold (fun h (b: U.ConvNorm) -> Functional.leakyRelu 0.2 (normalised b.Norm (Conv2d.apply b.Conv h))) images
        let code = Functional.relu (Conv2d.apply network.Down.ToCode down)
        report "code" code
        let mutable h = code
        for i, b in List.indexed network.Up do
            let d = Functional.relu (normalised b.Deconv.Norm (ConvTranspose2d.apply b.Deconv.Deconv h))
            h <- Functional.relu (normalised b.Conv.Norm (Conv2d.apply b.Conv.Conv d))
            report (sprintf "up %d" i) h
        h <- Functional.interpolate Interpolation.Nearest false (Resize.Scale 2.0) h
        for i, b in List.indexed network.Refine do
            h <- Functional.relu (normalised b.Norm (Conv2d.apply b.Conv h))
            report (sprintf "refine %d" i) h
        report "out" (Conv2d.apply network.Out h)

trace ()
