/// Exact nearest neighbours between 3-D point clouds, on the host: a k-d tree over float32
/// coordinates, queried in parallel. Chamfer distances, F-scores and the ICP correspondences
/// all go through here, so it must be exact (the same answer as the all-pairs search, ties
/// aside) and fast: two 30k-point clouds in well under 100 ms on two cores.
///
/// Clouds are flat float32 arrays of interleaved coordinates, x0 y0 z0 x1 y1 z1 ..., length 3N.
/// Squared distances are computed in float32 as dx·dx + dy·dy + dz·dz, in that order, both here
/// and in `bruteForce`, so the two return bitwise-equal distances.
module Reconstruct.Eval.Nearest

open System
open System.Threading.Tasks
open Reconstruct.Torch

/// For each query point, its nearest point in the reference cloud.
type Matches =
    { /// (Q,) squared Euclidean distance to the nearest reference point.
      SquaredDistances: float32[]
      /// (Q,) index of that reference point (among equally near points, any one).
      Indices: int[] }

let private checkCloud (fn: string) (arg: string) (points: float32[]) =
    if isNull points then invalidArg arg (sprintf "%s: %s is null" fn arg)
    if points.Length % 3 <> 0 then
        invalidArg arg (sprintf "%s: %s must hold interleaved xyz triples, received %d floats (not a multiple of 3)" fn arg points.Length)

/// The points of a (N, 3) or (1, N, 3) tensor as interleaved float32 xyz.
let ofTensor (points: Tensor) : float32[] =
    match points.Shape with
    | [| _; 3 |]
    | [| 1; _; 3 |] ->
        use _ = DisposalScope.Open()
        (points.detach ()).ToFloat32s()
    | s ->
        invalidArg "points" (sprintf "Nearest.ofTensor: points must be (N, 3) or (1, N, 3), received [%s]" (s |> Array.map string |> String.concat ", "))

/// Interleaved xyz as a (N, 3) float32 tensor.
let toTensor (points: float32[]) =
    checkCloud "Nearest.toTensor" "points" points
    Tensor.ofArray (points, [ points.Length / 3; 3 ])

/// Points per leaf: small leaves prune well, large ones amortise the descent.
[<Literal>]
let private LeafSize = 8

[<Literal>]
let private Leaf = 255uy

/// A cell is skipped when its float64 distance bound, shrunk by this factor, is still no
/// smaller than the best float32 distance so far. Float32 point distances carry a relative
/// error of a few 1e-7, so with 1e-5 of slack a skipped cell never holds a point whose
/// float32 distance beats the best: the search returns exactly the all-pairs minimum.
[<Literal>]
let private PruneSlack = 0.99999

/// A point in tree order with its index in the input cloud (16 bytes, so a leaf is one
/// contiguous read).
[<Struct; NoEquality; NoComparison>]
type internal TreePoint =
    val mutable X: float32
    val mutable Y: float32
    val mutable Z: float32
    val mutable Index: int

/// A balanced k-d tree: node k has children 2k+1 and 2k+2; the node over positions [lo, hi)
/// splits at mid = (lo + hi) / 2 into [lo, mid) (coordinates ≤ split) and [mid, hi) (≥ split),
/// so ranges need not be stored.
[<Sealed>]
type KdTree internal (points: TreePoint[], axis: byte[], split: float32[]) =
    /// Number of points.
    member _.Count = points.Length

    /// The input indices of the points in tree order (neighbours in space are close here).
    member _.Order = points |> Array.map (fun p -> p.Index)

    /// Nearest point to (qx, qy, qz): (squared distance, input index); (+∞, -1) if empty.
    member t.Nearest(qx: float32, qy: float32, qz: float32) =
        let mutable best = Single.PositiveInfinity
        let mutable bestAt = -1
        t.Find(qx, qy, qz, &best, &bestAt)
        struct (best, bestAt)

    member internal _.Find(qx: float32, qy: float32, qz: float32, best: byref<float32>, bestAt: byref<int>) =
        if points.Length > 0 then
            KdTree.Search(points, axis, split, 0, 0, points.Length, qx, qy, qz, 0.0, 0.0, 0.0, 0.0, &best, &bestAt)

    /// (ox, oy, oz) is the offset from the query to the node's cell along each axis (0 inside)
    /// and `bound` = ox² + oy² + oz², the squared distance to the cell (Arya & Mount's
    /// incremental distance), in float64.
    static member private Search(points: TreePoint[], axis: byte[], split: float32[], node: int, lo: int, hi: int,
                                 qx: float32, qy: float32, qz: float32, ox: float, oy: float, oz: float, bound: float,
                                 best: byref<float32>, bestAt: byref<int>) =
        let a = axis.[node]
        if a = Leaf then
            for i in lo .. hi - 1 do
                let p = &points.[i]
                let dx = p.X - qx
                let dy = p.Y - qy
                let dz = p.Z - qz
                let d = dx * dx + dy * dy + dz * dz
                if d < best then
                    best <- d
                    bestAt <- p.Index
        else
            let mid = (lo + hi) >>> 1
            let diff = (if a = 0uy then float qx elif a = 1uy then float qy else float qz) - float split.[node]
            let nearLeft = diff < 0.0
            if nearLeft then KdTree.Search(points, axis, split, 2 * node + 1, lo, mid, qx, qy, qz, ox, oy, oz, bound, &best, &bestAt)
            else KdTree.Search(points, axis, split, 2 * node + 2, mid, hi, qx, qy, qz, ox, oy, oz, bound, &best, &bestAt)
            // The far cell is at least |diff| away along this axis.
            let old = if a = 0uy then ox elif a = 1uy then oy else oz
            let farBound = bound - old * old + diff * diff
            if farBound * PruneSlack < float best then
                let fx = if a = 0uy then diff else ox
                let fy = if a = 1uy then diff else oy
                let fz = if a = 2uy then diff else oz
                if nearLeft then KdTree.Search(points, axis, split, 2 * node + 2, mid, hi, qx, qy, qz, fx, fy, fz, farBound, &best, &bestAt)
                else KdTree.Search(points, axis, split, 2 * node + 1, lo, mid, qx, qy, qz, fx, fy, fz, farBound, &best, &bestAt)

    /// As `Find` in the metric w_x dx² + w_y dy² + w_z dz² (weights > 0).
    member internal _.FindWeighted(qx: float32, qy: float32, qz: float32, wx: float32, wy: float32, wz: float32,
                                   best: byref<float32>, bestAt: byref<int>) =
        if points.Length > 0 then
            KdTree.SearchWeighted(points, axis, split, 0, 0, points.Length, qx, qy, qz, wx, wy, wz, 0.0, 0.0, 0.0, 0.0, &best, &bestAt)

    /// `Search` with per-axis weights; the offsets are unweighted, `bound` is weighted.
    static member private SearchWeighted(points: TreePoint[], axis: byte[], split: float32[], node: int, lo: int, hi: int,
                                         qx: float32, qy: float32, qz: float32, wx: float32, wy: float32, wz: float32,
                                         ox: float, oy: float, oz: float, bound: float, best: byref<float32>, bestAt: byref<int>) =
        let a = axis.[node]
        if a = Leaf then
            for i in lo .. hi - 1 do
                let p = &points.[i]
                let dx = p.X - qx
                let dy = p.Y - qy
                let dz = p.Z - qz
                let d = wx * dx * dx + wy * dy * dy + wz * dz * dz
                if d < best then
                    best <- d
                    bestAt <- p.Index
        else
            let mid = (lo + hi) >>> 1
            let diff = (if a = 0uy then float qx elif a = 1uy then float qy else float qz) - float split.[node]
            let nearLeft = diff < 0.0
            if nearLeft then KdTree.SearchWeighted(points, axis, split, 2 * node + 1, lo, mid, qx, qy, qz, wx, wy, wz, ox, oy, oz, bound, &best, &bestAt)
            else KdTree.SearchWeighted(points, axis, split, 2 * node + 2, mid, hi, qx, qy, qz, wx, wy, wz, ox, oy, oz, bound, &best, &bestAt)
            let w = float (if a = 0uy then wx elif a = 1uy then wy else wz)
            let old = if a = 0uy then ox elif a = 1uy then oy else oz
            let farBound = bound + w * (diff * diff - old * old)
            if farBound * PruneSlack < float best then
                let fx = if a = 0uy then diff else ox
                let fy = if a = 1uy then diff else oy
                let fz = if a = 2uy then diff else oz
                if nearLeft then KdTree.SearchWeighted(points, axis, split, 2 * node + 2, mid, hi, qx, qy, qz, wx, wy, wz, fx, fy, fz, farBound, &best, &bestAt)
                else KdTree.SearchWeighted(points, axis, split, 2 * node + 1, lo, mid, qx, qy, qz, wx, wy, wz, fx, fy, fz, farBound, &best, &bestAt)

let inline private key (a: int) (p: inref<TreePoint>) = if a = 0 then p.X elif a = 1 then p.Y else p.Z

/// Reorders pts[lo..hi) so that pts[k] holds the element of rank k - lo along axis `a`,
/// smaller or equal coordinates before it and greater or equal after (Hoare partition,
/// median-of-three pivot: deterministic, no random state).
let private select (a: int) (pts: TreePoint[]) (lo: int) (hi: int) (k: int) =
    let mutable l = lo
    let mutable r = hi - 1
    while r > l do
        let m = (l + r) >>> 1
        let x, y, z = key a &pts.[l], key a &pts.[m], key a &pts.[r]
        let pivot = if x < y then (if y < z then y elif x < z then z else x) else (if x < z then x elif y < z then z else y)
        let mutable i = l
        let mutable j = r
        while i <= j do
            while key a &pts.[i] < pivot do i <- i + 1
            while key a &pts.[j] > pivot do j <- j - 1
            if i <= j then
                let s = pts.[i]
                pts.[i] <- pts.[j]
                pts.[j] <- s
                i <- i + 1
                j <- j - 1
        // Now [l, j] ≤ pivot ≤ [i, r], and j < i.
        if k <= j then r <- j
        elif k >= i then l <- i
        else l <- r // k lies between j and i: it already equals the pivot

/// Builds the tree over interleaved xyz points (length 3N). O(N log N).
let build (points: float32[]) : KdTree =
    checkCloud "Nearest.build" "points" points
    let n = points.Length / 3
    for k in 0 .. points.Length - 1 do
        if not (Single.IsFinite points.[k]) then
            invalidArg "points" (sprintf "Nearest.build: coordinate %d of point %d is %g; points must be finite" (k % 3) (k / 3) points.[k])
    let pts = Array.zeroCreate<TreePoint> n
    for i in 0 .. n - 1 do
        pts.[i].X <- points.[3 * i]
        pts.[i].Y <- points.[3 * i + 1]
        pts.[i].Z <- points.[3 * i + 2]
        pts.[i].Index <- i
    let mutable depth = 0
    let mutable size = n
    while size > LeafSize do
        size <- (size + 1) / 2
        depth <- depth + 1
    let nodes = (1 <<< (depth + 1)) - 1
    let axis = Array.create nodes Leaf
    let split = Array.zeroCreate<float32> nodes
    let rec go node lo hi =
        if hi - lo > LeafSize then
            // Split the widest extent of the points: keeps cells compact on thin or flat clouds.
            let mutable x0, x1 = Single.PositiveInfinity, Single.NegativeInfinity
            let mutable y0, y1 = Single.PositiveInfinity, Single.NegativeInfinity
            let mutable z0, z1 = Single.PositiveInfinity, Single.NegativeInfinity
            for i in lo .. hi - 1 do
                let p = &pts.[i]
                x0 <- min x0 p.X
                x1 <- max x1 p.X
                y0 <- min y0 p.Y
                y1 <- max y1 p.Y
                z0 <- min z0 p.Z
                z1 <- max z1 p.Z
            let wx, wy, wz = x1 - x0, y1 - y0, z1 - z0
            let a = if wx >= wy && wx >= wz then 0 elif wy >= wz then 1 else 2
            let mid = (lo + hi) >>> 1
            select a pts lo hi mid
            axis.[node] <- byte a
            split.[node] <- key a &pts.[mid]
            go (2 * node + 1) lo mid
            go (2 * node + 2) mid hi
    go 0 0 n
    KdTree(pts, axis, split)

/// Queries are split into this many contiguous blocks; each result depends only on its own
/// query, so the answer is the same for any thread count or schedule.
let private blocks (count: int) = max 1 (min (4 * Environment.ProcessorCount) (count / 1024))

/// The nearest tree point of every query (interleaved xyz, length 3Q), in parallel. `order`,
/// a permutation of the queries (e.g. `KdTree.Order` of a tree over them), sets the visiting
/// order only: queries close in space visited together share cache lines.
let private queryInOrder (tree: KdTree) (queries: float32[]) (order: int[]) (weights: float32[]) : Matches =
    let q = queries.Length / 3
    let dist = Array.zeroCreate<float32> q
    let index = Array.zeroCreate<int> q
    let nb = blocks q
    Parallel.For(0, nb, fun b ->
        let start = int (int64 q * int64 b / int64 nb)
        let stop = int (int64 q * int64 (b + 1) / int64 nb)
        for k in start .. stop - 1 do
            let i = if isNull order then k else order.[k]
            let mutable best = Single.PositiveInfinity
            let mutable bestAt = -1
            if isNull weights then tree.Find(queries.[3 * i], queries.[3 * i + 1], queries.[3 * i + 2], &best, &bestAt)
            else tree.FindWeighted(queries.[3 * i], queries.[3 * i + 1], queries.[3 * i + 2], weights.[0], weights.[1], weights.[2], &best, &bestAt)
            dist.[i] <- best
            index.[i] <- bestAt)
    |> ignore
    { SquaredDistances = dist; Indices = index }

let private checkQuery (tree: KdTree) (queries: float32[]) =
    checkCloud "Nearest.query" "queries" queries
    if tree.Count = 0 then invalidArg "tree" "Nearest.query: the tree is empty; there is no nearest point"

/// The nearest tree point of every query (interleaved xyz, length 3Q), in parallel.
let query (tree: KdTree) (queries: float32[]) : Matches =
    checkQuery tree queries
    queryInOrder tree queries null null

/// As `query`, visiting the queries in the order of `queryTree`, a tree built over them
/// (faster when both exist anyway, as in Chamfer; same result).
let queryTree (tree: KdTree) (queries: float32[]) (queryTree: KdTree) : Matches =
    checkQuery tree queries
    if queryTree.Count * 3 <> queries.Length then
        invalidArg "queryTree" (sprintf "Nearest.queryTree: the query tree has %d points, the queries %d" queryTree.Count (queries.Length / 3))
    queryInOrder tree queries queryTree.Order null

/// The nearest tree point of every query in the weighted metric
/// w₀ dx² + w₁ dy² + w₂ dz² (weights: 3 positive finite values); SquaredDistances are
/// weighted. With weights w = s², a tree over x answers nearest-neighbour queries among the
/// points R (s ⊙ x) + t for queries mapped back by diag(1/s) Rᵀ (y - t): no rebuild when R,
/// s, t change (the gradient ICP).
let queryWeighted (tree: KdTree) (weights: float32[]) (queries: float32[]) : Matches =
    checkQuery tree queries
    if isNull weights || weights.Length <> 3 || weights |> Array.exists (fun w -> not (w > 0.0f) || Single.IsInfinity w) then
        invalidArg "weights" (sprintf "Nearest.queryWeighted: weights must be 3 positive finite values, received %A" weights)
    queryInOrder tree queries null weights

/// The nearest point of `reference` for every point of `queries` (builds a tree over `reference`).
let nearest (reference: float32[]) (queries: float32[]) = query (build reference) queries

/// The all-pairs reference search, O(Q·N), single-threaded: the oracle for tests and the
/// baseline for benchmarks. Ties go to the lowest index.
let bruteForce (reference: float32[]) (queries: float32[]) : Matches =
    checkCloud "Nearest.bruteForce" "reference" reference
    checkCloud "Nearest.bruteForce" "queries" queries
    let n = reference.Length / 3
    if n = 0 then invalidArg "reference" "Nearest.bruteForce: the reference cloud is empty; there is no nearest point"
    let q = queries.Length / 3
    let dist = Array.zeroCreate<float32> q
    let index = Array.zeroCreate<int> q
    for i in 0 .. q - 1 do
        let qx, qy, qz = queries.[3 * i], queries.[3 * i + 1], queries.[3 * i + 2]
        let mutable best = Single.PositiveInfinity
        let mutable bestAt = -1
        for j in 0 .. n - 1 do
            let dx = reference.[3 * j] - qx
            let dy = reference.[3 * j + 1] - qy
            let dz = reference.[3 * j + 2] - qz
            let d = dx * dx + dy * dy + dz * dz
            if d < best then
                best <- d
                bestAt <- j
        dist.[i] <- best
        index.[i] <- bestAt
    { SquaredDistances = dist; Indices = index }
