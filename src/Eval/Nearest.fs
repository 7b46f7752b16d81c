/// Exact nearest neighbours between 3-D point clouds, on the host: a k-d tree over float32
/// coordinates, queried in parallel. Chamfer distances, F-scores and the ICP correspondences
/// all go through here, so it must be exact (the same answer as the all-pairs search, ties
/// aside) and fast: Chamfer between two 30k-point clouds within 100 ms on two cores
/// (EvalBench.chamfer measures it beside the all-pairs search).
///
/// Clouds are flat float32 arrays of interleaved coordinates, x0 y0 z0 x1 y1 z1 ..., length 3N.
/// Squared distances are computed in float32 as dx·dx + dy·dy + dz·dz, in that order, both here
/// and in `bruteForce`, so the two return bitwise-equal distances. Results do not depend on
/// the number of threads: queries run in blocks fixed by their count.
module Reconstruct.Eval.Nearest

open System
open System.Runtime.CompilerServices
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
        invalidArg "points" (sprintf "Nearest.ofTensor: points must be (N, 3) or (1, N, 3), received %s" (Shape.text s))

/// Interleaved xyz as a (N, 3) float32 tensor.
let toTensor (points: float32[]) =
    checkCloud "Nearest.toTensor" "points" points
    Tensor.ofArray (points, [ points.Length / 3; 3 ])

/// Points per leaf: small leaves prune well, large ones amortise the descent (on surface
/// samples 8 and 16 cost about the same per query; 16 builds a shallower tree).
[<Literal>]
let private LeafSize = 16

/// A node is skipped when its box distance, shrunk by this factor, is still no smaller than
/// the best distance so far. Box and point distances are float32 with relative errors of a
/// few 1e-7 each (a difference, a square, a sum of three), so with 1e-5 of slack a skipped
/// node never holds a point whose float32 distance beats the best: the search returns
/// exactly the all-pairs minimum.
[<Literal>]
let private PruneSlack = 0.99999f

/// A point in tree order with its index in the input cloud (16 bytes, so a leaf is one
/// contiguous read).
[<Struct; NoEquality; NoComparison>]
type internal TreePoint =
    val mutable X: float32
    val mutable Y: float32
    val mutable Z: float32
    val mutable Index: int

/// One thread's search state: the query, the metric weights and the best point so far live
/// in fields, so the recursion passes only the node.
[<Sealed; AllowNullLiteral>]
type internal Searcher(points: TreePoint[], boxes: float32[]) =
    [<DefaultValue>] val mutable Qx: float32
    [<DefaultValue>] val mutable Qy: float32
    [<DefaultValue>] val mutable Qz: float32
    [<DefaultValue>] val mutable Wx: float32
    [<DefaultValue>] val mutable Wy: float32
    [<DefaultValue>] val mutable Wz: float32
    [<DefaultValue>] val mutable Best: float32
    [<DefaultValue>] val mutable BestAt: int
    /// Tree position of the best point (a starting guess for the next, nearby query).
    [<DefaultValue>] val mutable BestPos: int

    /// Weighted squared distance from the query to the box of `node` (float32; see PruneSlack).
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    member s.BoxDistance(node: int) =
        let b = 6 * node
        // Plain comparisons rather than `max`, whose NaN and -0 rules cost a dozen
        // instructions per call (coordinates are finite here).
        let inline gap (q: float32) (lo: float32) (hi: float32) =
            let below = lo - q
            let above = q - hi
            if below > 0.0f then below elif above > 0.0f then above else 0.0f
        let gx = gap s.Qx boxes.[b] boxes.[b + 3]
        let gy = gap s.Qy boxes.[b + 1] boxes.[b + 4]
        let gz = gap s.Qz boxes.[b + 2] boxes.[b + 5]
        s.Wx * gx * gx + s.Wy * gy * gy + s.Wz * gz * gz

    /// The nearest point to (qx, qy, qz) in the metric w_x dx² + w_y dy² + w_z dz²; leaves
    /// the result in Best (squared distance), BestAt (input index, -1 if empty) and BestPos.
    /// `hint`, a tree position or -1, is a first candidate: the previous query's answer when
    /// queries come in spatial order. Its true distance bounds the search from the start, so
    /// far queries prune as if they had found their neighbour already; the minimum is the same.
    [<MethodImpl(MethodImplOptions.AggressiveOptimization)>]
    member s.Find(qx: float32, qy: float32, qz: float32, wx: float32, wy: float32, wz: float32, hint: int) =
        s.Qx <- qx
        s.Qy <- qy
        s.Qz <- qz
        s.Wx <- wx
        s.Wy <- wy
        s.Wz <- wz
        s.Best <- Single.PositiveInfinity
        s.BestAt <- -1
        s.BestPos <- -1
        if hint >= 0 then s.Scan(hint, hint + 1)
        if points.Length > 0 then s.Search(0, 0, points.Length)

    /// Queries order[start..stop) (or start..stop), each starting from its predecessor's answer;
    /// results into dist and index at the query's own position.
    [<MethodImpl(MethodImplOptions.AggressiveOptimization)>]
    member s.Block(queries: float32[], order: int[], start: int, stop: int, wx: float32, wy: float32, wz: float32,
                   dist: float32[], index: int[]) =
        for k in start .. stop - 1 do
            let i = if isNull order then k else order.[k]
            s.Find(queries.[3 * i], queries.[3 * i + 1], queries.[3 * i + 2], wx, wy, wz, (if k = start then -1 else s.BestPos))
            dist.[i] <- s.Best
            index.[i] <- s.BestAt

    [<MethodImpl(MethodImplOptions.AggressiveOptimization)>]
    member private s.Scan(lo: int, hi: int) =
        let qx, qy, qz, wx, wy, wz = s.Qx, s.Qy, s.Qz, s.Wx, s.Wy, s.Wz
        for i in lo .. hi - 1 do
            let p = &points.[i]
            let dx = p.X - qx
            let dy = p.Y - qy
            let dz = p.Z - qz
            // With unit weights w·dx·dx is exactly dx·dx: distances match `bruteForce` bitwise.
            let d = wx * dx * dx + wy * dy * dy + wz * dz * dz
            if d < s.Best then
                s.Best <- d
                s.BestAt <- p.Index
                s.BestPos <- i

    [<MethodImpl(MethodImplOptions.AggressiveOptimization)>]
    member private s.Search(node: int, lo: int, hi: int) =
        if hi - lo <= LeafSize then s.Scan(lo, hi)
        else
            let mid = (lo + hi) >>> 1
            let left = 2 * node + 1
            let right = left + 1
            let dl = s.BoxDistance left
            let dr = s.BoxDistance right
            // Nearer box first, so the far one is usually pruned by then.
            if dl <= dr then
                if dl * PruneSlack < s.Best then s.Search(left, lo, mid)
                if dr * PruneSlack < s.Best then s.Search(right, mid, hi)
            else
                if dr * PruneSlack < s.Best then s.Search(right, mid, hi)
                if dl * PruneSlack < s.Best then s.Search(left, lo, mid)

/// A balanced k-d tree with a tight bounding box per node. Node k has children 2k+1 and
/// 2k+2; the node over positions [lo, hi) splits at mid = (lo + hi) / 2 into [lo, mid) and
/// [mid, hi) (along its widest axis, at the median), so ranges need not be stored, and a node
/// is a leaf when it holds at most LeafSize points. Boxes hug the points rather than the
/// split cells: on surface samples a far query then skips whole sheets of cells.
[<Sealed>]
type KdTree internal (points: TreePoint[], boxes: float32[]) =
    /// Number of points.
    member _.Count = points.Length

    /// The input indices of the points in tree order (neighbours in space are close here).
    member _.Order = points |> Array.map (fun p -> p.Index)

    /// A search state for one thread.
    member internal _.Searcher() = Searcher(points, boxes)

    /// Nearest point to (qx, qy, qz): (squared distance, input index); (+∞, -1) if empty.
    member t.Nearest(qx: float32, qy: float32, qz: float32) =
        let s = t.Searcher()
        s.Find(qx, qy, qz, 1.0f, 1.0f, 1.0f, -1)
        struct (s.Best, s.BestAt)

let inline private key (a: int) (p: inref<TreePoint>) = if a = 0 then p.X elif a = 1 then p.Y else p.Z

/// Reorders pts[lo..hi) so that pts[k] holds the element of rank k - lo along axis `a`,
/// smaller or equal coordinates before it and greater or equal after (Hoare partition,
/// median-of-three pivot: deterministic, no random state).
[<MethodImpl(MethodImplOptions.AggressiveOptimization)>]
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

/// Fills the box of `node` (points [lo, hi)) and, above leaf size, splits it at the median
/// of its widest axis and recurses.
[<MethodImpl(MethodImplOptions.AggressiveOptimization)>]
let rec private subdivide (pts: TreePoint[]) (boxes: float32[]) (node: int) (lo: int) (hi: int) =
    let mutable x0, x1 = Single.PositiveInfinity, Single.NegativeInfinity
    let mutable y0, y1 = Single.PositiveInfinity, Single.NegativeInfinity
    let mutable z0, z1 = Single.PositiveInfinity, Single.NegativeInfinity
    for i in lo .. hi - 1 do
        let p = &pts.[i]
        if p.X < x0 then x0 <- p.X
        if p.X > x1 then x1 <- p.X
        if p.Y < y0 then y0 <- p.Y
        if p.Y > y1 then y1 <- p.Y
        if p.Z < z0 then z0 <- p.Z
        if p.Z > z1 then z1 <- p.Z
    let b = 6 * node
    boxes.[b] <- x0
    boxes.[b + 1] <- y0
    boxes.[b + 2] <- z0
    boxes.[b + 3] <- x1
    boxes.[b + 4] <- y1
    boxes.[b + 5] <- z1
    if hi - lo > LeafSize then
        // Split the widest extent: keeps boxes compact on thin or flat clouds.
        let wx, wy, wz = x1 - x0, y1 - y0, z1 - z0
        let a = if wx >= wy && wx >= wz then 0 elif wy >= wz then 1 else 2
        let mid = (lo + hi) >>> 1
        select a pts lo hi mid
        subdivide pts boxes (2 * node + 1) lo mid
        subdivide pts boxes (2 * node + 2) mid hi

/// Builds the tree over interleaved xyz points (length 3N). O(N log N).
[<MethodImpl(MethodImplOptions.AggressiveOptimization)>]
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
    let boxes = Array.zeroCreate<float32> (6 * nodes)
    if n > 0 then subdivide pts boxes 0 0 n
    KdTree(pts, boxes)

/// Queries are split into this many contiguous blocks, a number that depends on the count
/// only: each block runs on one thread from its first query, so results (ties included) are
/// the same for any thread count or schedule.
let private blocks (count: int) = max 1 (min 64 (count / 2048))

/// Visits the queries in `order` (null: as given), in fixed blocks, in parallel. The hot
/// methods are marked AggressiveOptimization: a one-shot evaluation would otherwise spend its
/// first seconds in unoptimised and instrumented tiers of the JIT.
let private run (tree: KdTree) (queries: float32[]) (order: int[]) (weights: float32[]) : Matches =
    let q = queries.Length / 3
    let dist = Array.zeroCreate<float32> q
    let index = Array.zeroCreate<int> q
    let nb = blocks q
    let wx, wy, wz = if isNull weights then 1.0f, 1.0f, 1.0f else weights.[0], weights.[1], weights.[2]
    Parallel.For(0, nb, fun b ->
        let start = int (int64 q * int64 b / int64 nb)
        let stop = int (int64 q * int64 (b + 1) / int64 nb)
        tree.Searcher().Block(queries, order, start, stop, wx, wy, wz, dist, index))
    |> ignore
    { SquaredDistances = dist; Indices = index }

let private checkQuery (fn: string) (tree: KdTree) (queries: float32[]) (order: int[] option) =
    checkCloud fn "queries" queries
    if tree.Count = 0 then invalidArg "tree" (sprintf "%s: the tree is empty; there is no nearest point" fn)
    match order with
    | None -> null
    | Some o ->
        let q = queries.Length / 3
        let seen = Array.zeroCreate<bool> q
        if isNull o || o.Length <> q then invalidArg "order" (sprintf "%s: order must be a permutation of the %d queries" fn q)
        for i in o do
            if i < 0 || i >= q || seen.[i] then invalidArg "order" (sprintf "%s: order must be a permutation of the %d queries; %d is out of range or repeated" fn q i)
            seen.[i] <- true
        o

/// The nearest tree point of every query (interleaved xyz, length 3Q), in parallel.
/// `order`, a permutation of the queries such as `KdTree.Order` of a tree over them (or of
/// any cloud they are a similarity image of), sets the visiting order only; when neighbours
/// in it are near in space each query starts from the previous one's answer, which is much
/// faster for queries far from the tree's points. The result does not depend on it.
let queryOrdered (tree: KdTree) (order: int[] option) (queries: float32[]) : Matches =
    let o = checkQuery "Nearest.query" tree queries order
    run tree queries o null

/// The nearest tree point of every query (interleaved xyz, length 3Q), in parallel.
let query (tree: KdTree) (queries: float32[]) : Matches = queryOrdered tree None queries

/// As `query`, visiting the queries in the order of `queryTree`, a tree built over them
/// (faster when both exist anyway, as in Chamfer; same result).
let queryTree (tree: KdTree) (queries: float32[]) (queryTree: KdTree) : Matches =
    if queryTree.Count * 3 <> queries.Length then
        invalidArg "queryTree" (sprintf "Nearest.queryTree: the query tree has %d points, the queries %d" queryTree.Count (queries.Length / 3))
    queryOrdered tree (Some queryTree.Order) queries

/// The nearest tree point of every query in the weighted metric
/// w₀ dx² + w₁ dy² + w₂ dz² (weights: 3 positive finite values); SquaredDistances are
/// weighted. With weights w = s², a tree over x answers nearest-neighbour queries among the
/// points R (s ⊙ x) + t for queries mapped back by diag(1/s) Rᵀ (y - t): no rebuild when R,
/// s, t change (the gradient ICP). `order` as in `queryOrdered`.
let queryWeighted (tree: KdTree) (weights: float32[]) (order: int[] option) (queries: float32[]) : Matches =
    let o = checkQuery "Nearest.queryWeighted" tree queries order
    if isNull weights || weights.Length <> 3 || weights |> Array.exists (fun w -> not (w > 0.0f) || Single.IsInfinity w) then
        invalidArg "weights" (sprintf "Nearest.queryWeighted: weights must be 3 positive finite values, received %A" weights)
    run tree queries o weights

/// Both directions between clouds a and b (interleaved xyz, non-empty): for each point of a its
/// nearest point of b, and for each point of b its nearest point of a. The two trees are built
/// at once (one per core) and each serves as the other direction's visiting order; what
/// Chamfer distances and the Chamfer losses' neighbour choices both need.
let bothWays (a: float32[]) (b: float32[]) : Matches * Matches =
    let treeA = Task.Run(fun () -> build a)
    let treeB = build b
    let treeA = treeA.Result
    queryTree treeB a treeA, queryTree treeA b treeB

/// The nearest point of `reference` for every point of `queries` (builds a tree over `reference`).
let nearest (reference: float32[]) (queries: float32[]) = query (build reference) queries

/// The all-pairs reference search, O(Q·N), single-threaded: the oracle for tests and the
/// baseline for benchmarks. Ties go to the lowest index.
[<MethodImpl(MethodImplOptions.AggressiveOptimization)>]
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
