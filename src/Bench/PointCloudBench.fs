module Reconstruct.Bench.PointCloudBench

open Reconstruct.Torch
open Reconstruct.Stages
open Reconstruct.Pipelines
open Reconstruct.Bench.Report

/// The squared Chamfer with neighbours from the dense (B, N, M) distance matrix: what
/// `PointCloud.chamferSquared` did before its k-d trees, kept as the bench's reference.
let private denseChamfer (a: Tensor) (b: Tensor) =
    use scope = DisposalScope.Open()
    let inB, inA =
        use _ = Autograd.noGrad ()
        let d = a.square().sum (2, true) + (b.square().sum (2, true)).mT - a.bmm b.mT * 2.0
        d.argmin 2, d.argmin 1
    let gather (cloud: Tensor) (index: Tensor) = cloud.gather (1, (index.unsqueeze 2).expand [ index.Size 0; index.Size 1; 3 ])
    scope.MoveOut((a - gather b inB).square().sum(2).mean 1 + (b - gather a inA).square().sum(2).mean 1)

let all () =
    Runtime.initDefaults.Force()
    use scope = DisposalScope.Open()
    let config = PointCloud.Config.Defaults
    let b, k = 16, config.RandomPoses
    use g = new Generator(1UL)
    let model = PointCloud.create g config
    let batch: PointCloud.Batch =
        { Images = Tensor.rand ([ b; 3; 64; 64 ], g)
          Masks = (Tensor.rand ([ b; 1; 64; 64 ], g)).gt(0.6).cast Float32
          Azimuth = Tensor.zeros [ b ]
          Elevation = Tensor.zeros [ b ]
          Neighbour = None }
    use optimizer = Optim.adam { Optim.Adam.Defaults with Lr = 5e-4 } (PointCloud.parameters model)
    let iteration () =
        use _ = DisposalScope.Open()
        optimizer.ZeroGrad()
        (PointCloud.losses model g batch |> List.last |> snd).backward ()
        optimizer.Step()
    let iterationMs = medianMs 1 5 iteration
    let lossesMs = medianMs 1 5 (fun () -> PointCloud.losses model g batch |> ignore)
    let peak = RenderBench.peakRssIncreaseMb iteration
    let backwardOf (outputs: Tensor list) = (outputs |> List.map (fun t -> t.sum ()) |> List.reduce (+)).backward ()
    let cycleImages = Tensor.rand ([ b * k; 3; 64; 64 ], g)
    let shapeMs = medianMs 1 5 (fun () -> let x, c = PointCloud.applyShape model.Shape cycleImages in backwardOf [ x; c ])
    let poseMs = medianMs 1 5 (fun () -> let a, e = PointCloud.applyPose model.Pose cycleImages in backwardOf [ a; e ])
    let xyz = (Tensor.uniform ([ b * k; config.Points; 3 ], -0.4, 0.4, g)).RequireGrad()
    let rgb = (Tensor.rand ([ b * k; config.Points; 3 ], g)).RequireGrad()
    let azimuth = Tensor.uniform ([ b * k ], -3.0, 3.0, g)
    let renderMs = medianMs 1 5 (fun () -> let m, c = PointCloud.render config azimuth (azimuth * 0.1) xyz rgb in backwardOf [ m; c ])
    let other = Tensor.uniform ([ b * k; config.Points; 3 ], -0.4, 0.4, g)
    let chamferMs = medianMs 1 5 (fun () -> backwardOf [ PointCloud.chamferSquared xyz other ])
    let denseMs = medianMs 1 3 (fun () -> backwardOf [ denseChamfer xyz other ])
    let xy = (Tensor.uniform ([ b; config.Points; 2 ], 10.0, 54.0, g)).RequireGrad()
    let silhouetteMs = medianMs 1 5 (fun () -> backwardOf [ PointCloud.silhouetteChamfer xy batch.Masks ])
    let searchMs = medianMs 1 5 (fun () -> PointCloud.bestTurn config 4 1.0 1.0 xyz.[0 .. b - 1] rgb.[0 .. b - 1] azimuth.[0 .. b - 1] azimuth.[0 .. b - 1] batch.Images batch.Masks |> ignore)
    // The two options of ours and OURS-NN's term on: what they add to a step.
    let withOptions = PointCloud.create g { config with Neighbours = Some PointCloud.Config.NeighbourDefaults; PoseSearch = Some { Candidates = 4; Weight = 1.0 } }
    let neighbourBatch = { batch with Neighbour = Some { batch with Images = batch.Images.flip [ 0 ]; Masks = batch.Masks.flip [ 0 ] } }
    use optionsOptimizer = Optim.adam { Optim.Adam.Defaults with Lr = 5e-4 } (PointCloud.parameters withOptions)
    let optionsMs =
        medianMs 1 5 (fun () ->
            use _ = DisposalScope.Open()
            optionsOptimizer.ZeroGrad()
            (PointCloud.losses withOptions g neighbourBatch |> List.last |> snd).backward ()
            optionsOptimizer.Step())
    let setting = sprintf "batch %d, %d points, 64x64, %d random poses, %d threads" b config.Points k (Runtime.threads ())
    let part name ms what = figure ("pointcloud_" + name + "_ms") ms "ms" (what + ", forward + backward, median of 5")
    [ figure "pointcloud_iter_ms" iterationMs "ms" (sprintf "one step: the losses forward, backward, Adam; %s; median of 5" setting)
      figure "pointcloud_losses_fwd_ms" lossesMs "ms" "the losses forward alone, median of 5"
      figure "pointcloud_iter_peak_mb" peak "MB" "peak RSS growth during one step, after malloc_trim"
      figure "pointcloud_iter_nn_search_ms" optionsMs "ms" (sprintf "one step with OURS-NN's neighbour terms and the 4-candidate pose search on; %.2fx pointcloud_iter_ms, median of 5" (optionsMs / iterationMs))
      figure "pointcloud_pose_search_ms" searchMs "ms" (sprintf "the pose search's choice (bestTurn) for %d images, 4 candidates, no gradient, median of 5" b)
      part "shape_net" shapeMs (sprintf "the shape net on the %d cycle renders (it also runs on the %d inputs)" (b * k) b)
      part "pose_net" poseMs (sprintf "the pose net on the %d cycle renders" (b * k))
      part "render" renderMs (sprintf "one projection of %d clouds (a step projects %d)" (b * k) (b * (2 + k)))
      part "chamfer" chamferMs (sprintf "the geometric cycle's Chamfer on %d pairs, k-d tree neighbours" (b * k))
      figure "pointcloud_chamfer_dense_ms" denseMs "ms" (sprintf "the same Chamfer with dense-matrix neighbours (the reference, same run), median of 3; k-d trees %.1fx faster" (denseMs / chamferMs))
      part "silhouette" silhouetteMs (sprintf "the 2D silhouette Chamfer on %d images" b) ]
