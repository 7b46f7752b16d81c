/// Unsup3d's evaluation on ground-truth depth (peers.md §A.6) where it needs Unsup3d's camera:
/// MAD between normal maps taken from depth with `Unsup3d.normals (Unsup3d.depthToPoints
/// focal depth)`, and the two reference rows of its Table 2. The camera-free parts (SIDE, the
/// eroded mask, the mean-depth map, mean ± std) are `Eval.DepthMetrics`.
module Reconstruct.Stages.Unsup3dEval

open Reconstruct.Torch
open Reconstruct.Eval

/// The mean angle deviation per image, degrees: `DepthMetrics.angleDeviation` between the
/// normals of `predicted` seen by a camera of `focalPredicted` pixels and those of
/// `groundTruth` seen by one of `focalTruth` (a model's camera can differ from the renderer's).
/// Scaling a depth map moves no normal, so MAD(c·D) = MAD(D). The 1-pixel image border has
/// normals (0, 0, 1) by convention; `DepthMetrics.erode` removes it from a mask. An empty mask
/// gives NaN. predicted, groundTruth, mask: (B, S, S) float, the same shape, S ≥ 3
/// -> (B) float64.
val mad: focalPredicted: float -> predicted: Tensor -> focalTruth: float -> groundTruth: Tensor -> mask: Tensor -> Tensor

/// One row of Table 2: SIDE (raw, the paper's ×10⁻² not applied) and MAD (degrees) over the
/// test images.
type Row = { Side: DepthMetrics.Summary; Mad: DepthMetrics.Summary }

/// The two reference rows of Unsup3d's Table 2.
type References =
    { /// A constant depth map (any constant: both metrics ignore scale). Its SIDE is the
      /// spread of ln d* over each mask; its normals are all (0, 0, 1).
      ConstantNullDepth: Row
      /// `DepthMetrics.meanDepth trainingTruth trainingMask` as every test image's prediction.
      MeanGroundTruthDepth: Row }

/// Both reference rows. Masks are used as given: pass the test masks eroded
/// (`DepthMetrics.erode`), as a prediction's evaluation mask is. `focal` (pixels) is the
/// ground truth's camera, used for the reference maps too. trainingTruth, trainingMask:
/// (N, S, S); testTruth, testMask: (M, S, S); float.
val references: focal: float -> trainingTruth: Tensor -> trainingMask: Tensor -> testTruth: Tensor -> testMask: Tensor -> References
