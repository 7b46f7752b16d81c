/// The point-cloud evaluation of Navaneet et al. (CVPR 2020; peers.md §D.4): 1,024 ground-truth
/// points taken from a dense surface sample by farthest-point sampling; one global rotation
/// fitted on the validation predictions and applied to every test prediction (a
/// self-supervised model's canonical frame is arbitrary); the prediction clipped to ±0.5 and
/// both clouds normalised by their bounding boxes; then CD (squared, ×10³) and EMD.
///
/// Clouds are flat float32 arrays of interleaved coordinates x0 y0 z0 x1 y1 z1 ..., length 3N
/// (as `Nearest`), in the object frame's units (normalised objects span [-0.5, 0.5]).
/// Rotations are 9 float64 values, row-major R acting on column vectors: y = R x. Every
/// function is deterministic: the same inputs give the same bits, whatever the thread count.
module Reconstruct.Eval.PointCloudMetrics

/// The paper's reporting factor for CD: "CD as squared distances ×10³" (peers.md, the
/// cross-cutting notes). It is also DeepSDF's `Chamfer.L2Factor`; the two conventions agree
/// by coincidence, so each module states its own.
[<Literal>]
val CdFactor: float = 1000.0

/// The predictions are clipped to [-ClipLimit, ClipLimit] per coordinate before normalising
/// (the paper's `scale`, `tf.clip_by_value(pred, -0.5, 0.5)`).
[<Literal>]
val ClipLimit: float32 = 0.5f

/// Deterministic farthest-point sampling: starts at point 0, then repeatedly takes the point
/// whose squared distance (float64) to the points taken so far is largest, the lowest index
/// among equals. Returns `count` distinct indices into the cloud, in the order taken (the
/// first is 0). O(N · count) time, O(N) memory.
/// points: (N, 3) interleaved, N ≥ 1, finite; count: 1..N -> (count,) indices in 0..N-1.
val farthestPointIndices: points: float32[] -> count: int -> int[]

/// The points `farthestPointIndices` chooses, in that order: how the paper takes 1,024
/// ground-truth points from a dense surface sample.
/// points: (N, 3) interleaved; count: 1..N -> (count, 3) interleaved, a subset of `points`.
val farthestPointSample: points: float32[] -> count: int -> float32[]

/// Each coordinate clamped to [-ClipLimit, ClipLimit]. Applied to predictions only, before
/// `normalise`: a few stray predicted points would otherwise set the bounding box and shrink
/// the whole shape, while the truth has no strays to remove. It is its own function because
/// `normalise` serves the truth too, and so that `normalise` stays a pure similarity
/// (translation and uniform scale) that properties can test alone.
/// points: (N, 3) interleaved, finite -> (N, 3).
val clip: points: float32[] -> float32[]

/// The bounding-box normalisation (`Alignment.normalisation`): translated so that the box's
/// centre is the origin and scaled uniformly so that its largest side is 1, so every
/// coordinate lies in [-0.5, 0.5]. Computed in float64, returned in float32.
/// points: (N, 3) interleaved, N ≥ 1, finite, not all coincident -> (N, 3).
val normalise: points: float32[] -> float32[]

/// The paper's CD, unscaled: the mean squared nearest-neighbour distance from pred to truth
/// plus that from truth to pred (not halved), in squared units of the clouds. Exact neighbours
/// (`Chamfer.distances`); the means are float64 sums in a fixed order.
/// pred: (P, 3), truth: (T, 3) interleaved, both non-empty.
val chamferSquared: pred: float32[] -> truth: float32[] -> float

/// The optimal one-to-one assignment behind `emd`: element i is the index of the true point
/// matched to predicted point i, minimising Σ_i |pred_i - truth_(a_i)|². Exact: Jonker and
/// Volgenant's shortest augmenting path (1987) on costs computed in float64 from the
/// coordinates (never stored, so memory is O(N)): column reduction, reduction transfer, two
/// passes of augmenting row reduction, then one Dijkstra search in reduced costs per row left
/// unassigned. O(N³) time in the worst
/// case, but most rows settle in the O(N²) reductions: for N = 1,024 about 70 ms of one core
/// for a reconstruction against its truth, 100-130 ms for a poor one (`EvalBench.emd`).
/// The result is optimal up to float64 rounding of the costs. Ties go deterministically.
/// pred, truth: (N, 3) interleaved, the same N ≥ 1, finite -> (N,) a permutation of 0..N-1.
val emdAssignment: pred: float32[] -> truth: float32[] -> int[]

/// The Earth Mover's distance of two clouds of equal size: the mean squared distance under
/// the optimal one-to-one assignment (`emdAssignment`), (1/N) Σ_i |pred_i - truth_(a_i)|²,
/// unscaled, in squared units of the clouds. The paper computes it with an auction, which is
/// optimal only up to its final ε; this one is exact.
/// pred, truth: (N, 3) interleaved, the same N ≥ 1, finite.
val emd: pred: float32[] -> truth: float32[] -> float

/// R x for every point, computed in float64.
/// rotation: 9 values, row-major; points: (N, 3) interleaved -> (N, 3).
val applyRotation: rotation: float[] -> points: float32[] -> float32[]

/// The global rotation of the paper's evaluation: the R minimising Σ_k CD(R pred_k, truth_k)
/// over (prediction, truth) pairs of the validation split, with CD as `chamferSquared`, about
/// the origin, on the clouds as given (the paper fits it before clipping and normalising).
/// Frames may be off by any rotation, so it searches SO(3) globally rather than from the
/// paper's single Adam start (29°, 0°, 270°):
///   1. Every cloud is reduced by `farthestPointSample` to 64 points, and 1,000 rotations
///      spread evenly over SO(3) (a super-Fibonacci spiral of quaternions, Alexa 2022:
///      neighbours about 23° apart, every rotation within about 20° of one) plus the
///      identity are scored by the summed CD of these.
///   2. The 6 best that lie at least 30° from each better one are refined by rotation-only
///      ICP on the same 64 points: nearest neighbours both ways, then the rotation that
///      minimises the summed squared distances of those matches (Procrustes, by SVD), which
///      cannot raise the CD. Point-to-point ICP creeps along surfaces in ever smaller steps,
///      so each step is also tried at 2, 4, ... 64 times its angle while that lowers the CD.
///      It stops when the CD no longer falls, a step turns less than 0.01°, or after 40 steps.
///   3. The 2 best refined rotations at least 30° apart are refined again on 256-point
///      samples, and the better one on the full clouds.
///   4. The result is kept only if its full-cloud CD (`chamferSquared`) is no larger than the
///      identity's, so fitting never makes the CD worse.
/// Deterministic. Cost linear in the pairs: about 3 s of CPU for 50 pairs of 1,024 points
/// (EvalBench.fitRotation), the grid on two threads.
/// pairs: at least one (prediction, truth), each (P_k, 3) and (T_k, 3) interleaved, non-empty,
/// finite -> 9 values, row-major R, det +1; apply it with `applyRotation`.
val fitGlobalRotation: pairs: (float32[] * float32[]) list -> float[]

/// The scores of one pair.
type PointCloudScores =
    { /// CD × CdFactor: 10³ times `chamferSquared` of the clipped and normalised clouds.
      Chamfer: float
      /// `emd` of the clipped and normalised clouds, unscaled (mean squared distance; the
      /// spec gives no reporting factor for EMD).
      Emd: float }

/// The paper's scores of one prediction: clipped (`clip`), then both clouds normalised
/// (`normalise`), then CD ×10³ and EMD. `pred` is taken as it is to be scored, already
/// rotated by the fitted global rotation.
/// pred, truth: (N, 3) interleaved, the same N ≥ 1, finite.
val scores: pred: float32[] -> truth: float32[] -> PointCloudScores
