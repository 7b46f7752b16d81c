/// Distances between two point clouds: Chamfer (L1 as UNICORN reports it, L2 as DeepSDF-style
/// work does) and F-scores. Clouds are interleaved float32 xyz (see `Nearest`); sums are in
/// float64 in a fixed order, so results are deterministic.
module Reconstruct.Eval.Chamfer

open System

/// Nearest-neighbour distances in both directions between a predicted and a true cloud.
type CloudDistances =
    { /// (P,) squared distance from each predicted point to the true cloud.
      PredToTrue: float32[]
      /// (T,) squared distance from each true point to the predicted cloud.
      TrueToPred: float32[] }

/// Precision, recall and their harmonic mean at one distance threshold.
type FScore =
    { /// The threshold, in the clouds' units.
      Threshold: float
      /// Fraction of predicted points within the threshold of the true cloud.
      Precision: float
      /// Fraction of true points within the threshold of the predicted cloud.
      Recall: float
      /// 2PR / (P + R); 0 when both are 0.
      F: float }

/// The point-cloud scores every report carries.
type PointScores =
    { /// 10 · ½ (mean_x min_y |x - y| + mean_y min_x |x - y|), unsquared (UNICORN, OccNet, DVR).
      ChamferL1: float
      /// 1000 · (mean_x min_y |x - y|² + mean_y min_x |x - y|²), squared and summed over both
      /// directions, not halved (DeepSDF's convention).
      ChamferL2: float
      /// F-score at 1% of the normalised object size (threshold 0.01: objects span [-0.5, 0.5]).
      FScore1: FScore
      /// F-score at 2% (threshold 0.02).
      FScore2: FScore }

/// UNICORN's (and OccNet's) reporting factor for Chamfer-L1.
[<Literal>]
let L1Factor = 10.0

/// DeepSDF's reporting factor for Chamfer-L2.
[<Literal>]
let L2Factor = 1000.0

/// Both directions of nearest-neighbour distances. pred, truth: interleaved xyz, non-empty.
let distances (pred: float32[]) (truth: float32[]) : CloudDistances =
    if isNull pred || pred.Length < 3 then invalidArg "pred" "Chamfer.distances: the predicted cloud is empty"
    if isNull truth || truth.Length < 3 then invalidArg "truth" "Chamfer.distances: the true cloud is empty"
    let predToTrue, trueToPred = Nearest.bothWays pred truth
    { PredToTrue = predToTrue.SquaredDistances
      TrueToPred = trueToPred.SquaredDistances }

let private meanOf (f: float -> float) (values: float32[]) =
    let mutable s = 0.0
    for v in values do
        s <- s + f (float v)
    s / float values.Length

/// Chamfer-L1 as UNICORN reports it: 10 · ½ (mean NN distance both ways), unsquared.
let l1 (d: CloudDistances) =
    L1Factor * 0.5 * (meanOf sqrt d.PredToTrue + meanOf sqrt d.TrueToPred)

/// Chamfer-L2 unscaled: mean squared NN distance pred→truth plus truth→pred, not halved.
let squared (d: CloudDistances) = meanOf id d.PredToTrue + meanOf id d.TrueToPred

/// Chamfer-L2 as DeepSDF reports it: 1000 · (mean squared NN distance, summed both ways).
let l2 (d: CloudDistances) = L2Factor * squared d

/// The F-score at `threshold` (a distance, not squared): a point counts when its nearest
/// neighbour is strictly closer than the threshold.
let fscore (threshold: float) (d: CloudDistances) : FScore =
    if not (threshold > 0.0) then invalidArg "threshold" (sprintf "Chamfer.fscore: threshold must be positive, received %g" threshold)
    let t2 = threshold * threshold
    let within (values: float32[]) =
        let mutable c = 0
        for v in values do
            if float v < t2 then c <- c + 1
        float c / float values.Length
    let p = within d.PredToTrue
    let r = within d.TrueToPred
    { Threshold = threshold; Precision = p; Recall = r; F = (if p + r > 0.0 then 2.0 * p * r / (p + r) else 0.0) }

/// All point scores of `d`, for clouds normalised to span [-0.5, 0.5] (F-score thresholds
/// 0.01 and 0.02).
let scores (d: CloudDistances) : PointScores =
    { ChamferL1 = l1 d; ChamferL2 = l2 d; FScore1 = fscore 0.01 d; FScore2 = fscore 0.02 d }

/// Point scores of two clouds (interleaved xyz).
let compare (pred: float32[]) (truth: float32[]) = scores (distances pred truth)
