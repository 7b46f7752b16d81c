module Reconstruct.Eval.PointCloudMetrics

open System
open System.Runtime.CompilerServices
open System.Threading.Tasks
open Reconstruct.Torch
open Reconstruct.Geometry

[<Literal>]
let CdFactor = 1000.0

[<Literal>]
let ClipLimit = 0.5f

/// Fails unless `points` is a non-empty finite cloud; `what` names it in the message and
/// `param` is the argument it belongs to.
let private checkNamed (fn: string) (param: string) (what: string) (points: float32[]) =
    if isNull points then invalidArg param (sprintf "%s: %s is null" fn what)
    if points.Length % 3 <> 0 then
        invalidArg param (sprintf "%s: %s must hold interleaved xyz triples, received %d floats (not a multiple of 3)" fn what points.Length)
    if points.Length = 0 then invalidArg param (sprintf "%s: %s is empty; it needs at least one point" fn what)
    for k in 0 .. points.Length - 1 do
        if not (Single.IsFinite points.[k]) then
            invalidArg param (sprintf "%s: coordinate %d of point %d of %s is %g; points must be finite" fn (k % 3) (k / 3) what points.[k])

let private checkCloud (fn: string) (arg: string) (points: float32[]) = checkNamed fn arg arg points

let private checkEqualSizes (fn: string) (pred: float32[]) (truth: float32[]) =
    checkCloud fn "pred" pred
    checkCloud fn "truth" truth
    if pred.Length <> truth.Length then
        invalidArg "truth" (sprintf "%s: truth has %d points and pred %d; a one-to-one matching needs equal sizes" fn (truth.Length / 3) (pred.Length / 3))

// ---------------------------------------------------------------------- sampling and normalising

[<MethodImpl(MethodImplOptions.AggressiveOptimization)>]
let farthestPointIndices (points: float32[]) (count: int) : int[] =
    checkCloud "PointCloudMetrics.farthestPointIndices" "points" points
    let n = points.Length / 3
    if count < 1 || count > n then
        invalidArg "count" (sprintf "PointCloudMetrics.farthestPointIndices: count must be in 1..%d (the number of points), received %d" n count)
    // Squared distance of each point to the points taken so far; -1 marks a taken point, so it
    // is never taken twice even when all the others coincide with taken ones (distance 0).
    let gap = Array.create n Double.PositiveInfinity
    let taken = Array.zeroCreate<int> count
    let mutable next = 0
    for k in 0 .. count - 1 do
        taken.[k] <- next
        gap.[next] <- -1.0
        if k < count - 1 then
            let x, y, z = float points.[3 * next], float points.[3 * next + 1], float points.[3 * next + 2]
            let mutable best = -1.0
            let mutable bestAt = -1
            for i in 0 .. n - 1 do
                let dx = float points.[3 * i] - x
                let dy = float points.[3 * i + 1] - y
                let dz = float points.[3 * i + 2] - z
                let d = dx * dx + dy * dy + dz * dz
                if d < gap.[i] then gap.[i] <- d
                if gap.[i] > best then
                    best <- gap.[i]
                    bestAt <- i
            next <- bestAt
    taken

let private gather (points: float32[]) (indices: int[]) =
    Array.init (3 * indices.Length) (fun k -> points.[3 * indices.[k / 3] + k % 3])

let farthestPointSample (points: float32[]) (count: int) : float32[] =
    gather points (farthestPointIndices points count)

let clip (points: float32[]) : float32[] =
    checkCloud "PointCloudMetrics.clip" "points" points
    Array.map (fun v -> Math.Clamp(v, -ClipLimit, ClipLimit)) points

let normalise (points: float32[]) : float32[] =
    checkCloud "PointCloudMetrics.normalise" "points" points
    Transform.applyPoints (Alignment.normalisation points) points

// ---------------------------------------------------------------------- distances

let chamferSquared (pred: float32[]) (truth: float32[]) : float =
    checkCloud "PointCloudMetrics.chamferSquared" "pred" pred
    checkCloud "PointCloudMetrics.chamferSquared" "truth" truth
    Chamfer.squared (Chamfer.distances pred truth)

/// Jonker–Volgenant's shortest augmenting path for the dense assignment problem with costs
/// c(i, j) = |a_i - b_j|² (float64). Column j has a price v_j; an assigned row i holds a column
/// of least reduced cost c(i, j) - v_j (its implicit dual u_i is that least value), which is
/// the complementary slackness that makes the final assignment optimal.
[<Sealed>]
type private Assignment(a: float32[], b: float32[]) =
    let n = a.Length / 3
    let ax = Array.init n (fun i -> float a.[3 * i])
    let ay = Array.init n (fun i -> float a.[3 * i + 1])
    let az = Array.init n (fun i -> float a.[3 * i + 2])
    let bx = Array.init n (fun j -> float b.[3 * j])
    let by = Array.init n (fun j -> float b.[3 * j + 1])
    let bz = Array.init n (fun j -> float b.[3 * j + 2])
    let price = Array.zeroCreate<float> n
    /// Column of each row, -1 when free.
    let colOf = Array.create n -1
    /// Row of each column, -1 when free.
    let rowOf = Array.create n -1
    // Dijkstra's state, reused by every search.
    let dist = Array.zeroCreate<float> n
    /// The row each column is reached from on the shortest path.
    let via = Array.zeroCreate<int> n
    let cols = Array.zeroCreate<int> n

    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    member _.Cost(i: int, j: int) =
        let dx = ax.[i] - bx.[j]
        let dy = ay.[i] - by.[j]
        let dz = az.[i] - bz.[j]
        dx * dx + dy * dy + dz * dz

    /// Column reduction: each price starts at its column's least cost, and the row attaining
    /// it takes the column if it has none yet; every reduced cost is then ≥ 0 and the assigned
    /// ones are 0.
    [<MethodImpl(MethodImplOptions.AggressiveOptimization)>]
    member s.ReduceColumns() =
        for j in 0 .. n - 1 do
            let mutable least = Double.PositiveInfinity
            let mutable at = 0
            for i in 0 .. n - 1 do
                let c = s.Cost(i, j)
                if c < least then
                    least <- c
                    at <- i
            price.[j] <- least
            if colOf.[at] < 0 then
                colOf.[at] <- j
                rowOf.[j] <- at

    /// Reduction transfer: an assigned row's column is made as dear as the row's second-best
    /// column, lowering its price. The row still prefers it, no other row's preferred column
    /// changes, and the free rows' searches then meet dearer columns already taken, so they
    /// end sooner.
    [<MethodImpl(MethodImplOptions.AggressiveOptimization)>]
    member s.TransferReductions() =
        for i in 0 .. n - 1 do
            let j1 = colOf.[i]
            if j1 >= 0 && n > 1 then
                let mutable second = Double.PositiveInfinity
                for j in 0 .. n - 1 do
                    if j <> j1 then
                        let r = s.Cost(i, j) - price.[j]
                        if r < second then second <- r
                price.[j1] <- s.Cost(i, j1) - second

    /// One shortest path in reduced costs from the free row f to a free column (Dijkstra with
    /// the columns at the current least distance handled as one batch), then the prices of the
    /// columns settled on the way and the assignments along the path. cols[0..low) are settled,
    /// cols[low..up) are at distance `least` waiting to be scanned, cols[up..n) are farther.
    [<MethodImpl(MethodImplOptions.AggressiveOptimization)>]
    member s.Augment(f: int) =
        for j in 0 .. n - 1 do
            cols.[j] <- j
            dist.[j] <- s.Cost(f, j) - price.[j]
            via.[j] <- f
        let mutable low = 0
        let mutable up = 0
        let mutable least = 0.0
        let mutable endCol = -1
        while endCol < 0 do
            if up = low then
                // Gather the unsettled columns at the least distance into [low, up).
                least <- dist.[cols.[up]]
                up <- up + 1
                for k in up .. n - 1 do
                    let j = cols.[k]
                    let h = dist.[j]
                    if h <= least then
                        if h < least then
                            up <- low
                            least <- h
                        cols.[k] <- cols.[up]
                        cols.[up] <- j
                        up <- up + 1
                let mutable k = low
                while endCol < 0 && k < up do
                    if rowOf.[cols.[k]] < 0 then endCol <- cols.[k]
                    k <- k + 1
            if endCol < 0 then
                // Settle one column at the least distance and scan the row that holds it.
                let j1 = cols.[low]
                low <- low + 1
                let i = rowOf.[j1]
                let h = s.Cost(i, j1) - price.[j1] - least
                let mutable k = up
                while endCol < 0 && k < n do
                    let j = cols.[k]
                    let through = s.Cost(i, j) - price.[j] - h
                    if through < dist.[j] then
                        via.[j] <- i
                        if through = least then
                            if rowOf.[j] < 0 then endCol <- j
                            else
                                cols.[k] <- cols.[up]
                                cols.[up] <- j
                                up <- up + 1
                        dist.[j] <- through
                    k <- k + 1
        // Settled columns move their price by their distance beyond the path's length, which
        // keeps every reduced cost ≥ 0 and those along the new assignment at 0.
        for k in 0 .. low - 1 do
            let j = cols.[k]
            price.[j] <- price.[j] + dist.[j] - least
        let mutable j = endCol
        let mutable i = -1
        while i <> f do
            i <- via.[j]
            rowOf.[j] <- i
            let previous = colOf.[i]
            colOf.[i] <- j
            j <- previous

    /// Augmenting row reduction, one pass over the free rows free[0..count): a free row takes
    /// its cheapest column and lowers that column's price until its second-cheapest ties it
    /// (so it still holds a cheapest column); the row it evicts is served next while prices
    /// fall, and is left for later on a tie. Each step costs O(N), far less than a search, and
    /// most free rows settle here. Returns how many rows it leaves free, at free[0..).
    [<MethodImpl(MethodImplOptions.AggressiveOptimization)>]
    member s.ReduceRows(free: int[], count: int) =
        let mutable k = 0
        let mutable left = 0
        // A long run of tiny price cuts (a price war between near-equal rows) is cut short:
        // the evicted rows are left to the searches, which settle them exactly. Unbounded, the
        // wars took 4-10 s on 1,024 points; with 4N steps a pass, about 0.2 s in all.
        let mutable budget = 4 * n
        while k < count do
            let i = free.[k]
            k <- k + 1
            let mutable u1, j1 = Double.PositiveInfinity, -1
            let mutable u2, j2 = Double.PositiveInfinity, -1
            for j in 0 .. n - 1 do
                let h = s.Cost(i, j) - price.[j]
                if h < u2 then
                    if h >= u1 then
                        u2 <- h
                        j2 <- j
                    else
                        u2 <- u1
                        j2 <- j1
                        u1 <- h
                        j1 <- j
            let mutable taken = j1
            let mutable evicted = rowOf.[j1]
            let cut = u1 < u2
            if cut then price.[j1] <- price.[j1] - (u2 - u1)
            elif evicted >= 0 then
                taken <- j2
                evicted <- rowOf.[j2]
            colOf.[i] <- taken
            rowOf.[taken] <- i
            if evicted >= 0 then
                colOf.[evicted] <- -1
                if cut && budget > 0 then
                    budget <- budget - 1
                    k <- k - 1
                    free.[k] <- evicted
                else
                    free.[left] <- evicted
                    left <- left + 1
        left

    member s.Solve() =
        s.ReduceColumns()
        s.TransferReductions()
        let free = Array.init n id |> Array.filter (fun i -> colOf.[i] < 0)
        let mutable count = free.Length
        // Jonker and Volgenant run two passes: the second settles most of what the first evicted.
        for _ in 1..2 do
            if count > 0 then count <- s.ReduceRows(free, count)
        for k in 0 .. count - 1 do
            s.Augment free.[k]
        colOf

let emdAssignment (pred: float32[]) (truth: float32[]) : int[] =
    checkEqualSizes "PointCloudMetrics.emdAssignment" pred truth
    Assignment(pred, truth).Solve()

let emd (pred: float32[]) (truth: float32[]) : float =
    checkEqualSizes "PointCloudMetrics.emd" pred truth
    let solver = Assignment(pred, truth)
    let matched = solver.Solve()
    let mutable total = 0.0
    for i in 0 .. matched.Length - 1 do
        total <- total + solver.Cost(i, matched.[i])
    total / float matched.Length

// ---------------------------------------------------------------------- the global rotation

let private checkRotation (fn: string) (rotation: float[]) =
    if isNull rotation || rotation.Length <> 9 || rotation |> Array.exists (fun v -> not (Double.IsFinite v)) then
        invalidArg "rotation" (sprintf "%s: rotation must be 9 finite values (row-major 3×3), received %A" fn rotation)

let applyRotation (rotation: float[]) (points: float32[]) : float32[] =
    checkRotation "PointCloudMetrics.applyRotation" rotation
    if isNull points || points.Length % 3 <> 0 then
        invalidArg "points" "PointCloudMetrics.applyRotation: points must hold interleaved xyz triples"
    Transform.applyPoints { Transform.identity with Rotation = rotation } points

let private transpose (r: float[]) = Array.init 9 (fun k -> r.[3 * (k % 3) + k / 3])

/// Rotation angle (radians) between two rotations: from the trace of AᵀB = Σ_k a_k b_k.
let private angleBetween (a: float[]) (b: float[]) =
    let trace = Array.fold2 (fun s x y -> s + x * y) 0.0 a b
    acos (Math.Clamp((trace - 1.0) / 2.0, -1.0, 1.0))

/// The rotation R maximising tr(Rᵀ M), i.e. minimising Σ w |R a - b|² for M = Σ w b aᵀ:
/// R = U diag(1, 1, d) Vᵀ from M = U S Vᵀ, with d = det(U Vᵀ) so that R is proper.
let private procrustes (m: float[]) : float[] =
    use _ = DisposalScope.Open()
    let u, _, vh = (Tensor.ofArray (m, [ 3; 3 ])).svd ()
    let u, vh = u.ToFloat64s(), vh.ToFloat64s()
    let det (x: float[]) =
        x.[0] * (x.[4] * x.[8] - x.[5] * x.[7]) - x.[1] * (x.[3] * x.[8] - x.[5] * x.[6]) + x.[2] * (x.[3] * x.[7] - x.[4] * x.[6])
    let d = if det u * det vh < 0.0 then -1.0 else 1.0
    Array.init 9 (fun k ->
        let r, c = k / 3, k % 3
        u.[3 * r] * vh.[c] + u.[3 * r + 1] * vh.[3 + c] + d * u.[3 * r + 2] * vh.[6 + c])

/// `count` rotations spread evenly over SO(3): Alexa's super-Fibonacci spiral of unit
/// quaternions (CVPR 2022), deterministic, with no pole or seam where they crowd.
let private spiralRotations (count: int) : float[][] =
    let phi = sqrt 2.0
    let psi = 1.533751168755204288118041
    let q =
        Array.init count (fun i ->
            let s = float i + 0.5
            let r, rr = sqrt (s / float count), sqrt (1.0 - s / float count)
            let alpha, beta = 2.0 * Math.PI * s / phi, 2.0 * Math.PI * s / psi
            [| r * sin alpha; r * cos alpha; rr * sin beta; rr * cos beta |])
        |> Array.concat
    use _ = DisposalScope.Open()
    (Rotation.fromQuaternion (Tensor.ofArray (q, [ count; 4 ]))).ToFloat64s() |> Array.chunkBySize 9

/// One (prediction, truth) pair at one resolution. Small clouds are matched all pairs against
/// all; larger ones through trees that stay valid under any rotation of the prediction: R p is
/// matched in the truth and Rᵀ t in the unrotated prediction (|R p - t| = |p - Rᵀ t|), so
/// nothing is rebuilt as R changes.
type private Pair =
    { Pred: float32[]
      Truth: float32[]
      /// Trees over the prediction and the truth; None below AllPairsBelow points.
      Trees: (Nearest.KdTree * Nearest.KdTree) option }

/// Below this many points (both clouds) matching all pairs costs less than a tree search.
[<Literal>]
let private AllPairsBelow = 128

let private pairOf (pred: float32[], truth: float32[]) : Pair =
    let small = pred.Length / 3 < AllPairsBelow && truth.Length / 3 < AllPairsBelow
    { Pred = pred; Truth = truth; Trees = (if small then None else Some(Nearest.build pred, Nearest.build truth)) }

/// m += w · t_ti p_piᵀ (row-major).
let private accumulate (m: float[]) (w: float) (pred: float32[]) (pi: int) (truth: float32[]) (ti: int) =
    for a in 0 .. 2 do
        let t = w * float truth.[3 * ti + a]
        for c in 0 .. 2 do
            m.[3 * a + c] <- m.[3 * a + c] + t * float pred.[3 * pi + c]

/// CD(R p, t) of one pair and M = Σ w t pᵀ over its nearest-neighbour matches both ways
/// (w = 1/P forward, 1/T backward), so that the Procrustes rotation of M minimises the CD
/// with these matches held.
[<MethodImpl(MethodImplOptions.AggressiveOptimization)>]
let private matchPair (r: float[]) (p: Pair) : float * float[] =
    let pred, truth = p.Pred, p.Truth
    let np, nt = pred.Length / 3, truth.Length / 3
    let forward, forwardAt = Array.zeroCreate<float> np, Array.zeroCreate<int> np
    let backward, backwardAt = Array.zeroCreate<float> nt, Array.zeroCreate<int> nt
    match p.Trees with
    | None ->
        // Every distance once, updating its row's and its column's minimum.
        Array.fill backward 0 nt Double.PositiveInfinity
        for i in 0 .. np - 1 do
            let px, py, pz = float pred.[3 * i], float pred.[3 * i + 1], float pred.[3 * i + 2]
            let x = r.[0] * px + r.[1] * py + r.[2] * pz
            let y = r.[3] * px + r.[4] * py + r.[5] * pz
            let z = r.[6] * px + r.[7] * py + r.[8] * pz
            let mutable best = Double.PositiveInfinity
            for j in 0 .. nt - 1 do
                let dx = x - float truth.[3 * j]
                let dy = y - float truth.[3 * j + 1]
                let dz = z - float truth.[3 * j + 2]
                let d = dx * dx + dy * dy + dz * dz
                if d < best then
                    best <- d
                    forwardAt.[i] <- j
                if d < backward.[j] then
                    backward.[j] <- d
                    backwardAt.[j] <- i
            forward.[i] <- best
    | Some(predTree, truthTree) ->
        // Rotated clouds keep their trees' spatial order, so each query starts near its answer.
        let f = Nearest.queryOrdered truthTree (Some predTree.Order) (applyRotation r pred)
        let b = Nearest.queryOrdered predTree (Some truthTree.Order) (applyRotation (transpose r) truth)
        for i in 0 .. np - 1 do
            forward.[i] <- float f.SquaredDistances.[i]
            forwardAt.[i] <- f.Indices.[i]
        for j in 0 .. nt - 1 do
            backward.[j] <- float b.SquaredDistances.[j]
            backwardAt.[j] <- b.Indices.[j]
    let m = Array.zeroCreate<float> 9
    for i in 0 .. np - 1 do
        accumulate m (1.0 / float np) pred i truth forwardAt.[i]
    for j in 0 .. nt - 1 do
        accumulate m (1.0 / float nt) pred backwardAt.[j] truth j
    Array.average forward + Array.average backward, m

/// The summed CD over the pairs and the summed M. Pairs run in parallel; the sums run in
/// pair order, so the result does not depend on the schedule.
let private matchAll (pairs: Pair[]) (r: float[]) : float * float[] =
    let each = Array.zeroCreate pairs.Length
    Parallel.For(0, pairs.Length, fun k -> each.[k] <- matchPair r pairs.[k]) |> ignore
    let mutable cd = 0.0
    let m = Array.zeroCreate<float> 9
    for c, mk in each do
        cd <- cd + c
        for k in 0 .. 8 do
            m.[k] <- m.[k] + mk.[k]
    cd, m

/// ICP steps per refinement at most.
[<Literal>]
let private MaxIcpSteps = 40

/// ICP stops once a step turns the rotation by less than this (0.01°), far below the degree
/// the evaluation needs.
[<Literal>]
let private IcpToleranceRadians = 1.75e-4

/// How many times a step may be doubled.
[<Literal>]
let private MaxDoublings = 6

/// Row-major 3×3 product a b.
let private multiply (a: float[]) (b: float[]) =
    Array.init 9 (fun k ->
        let r, c = k / 3, k % 3
        a.[3 * r] * b.[c] + a.[3 * r + 1] * b.[3 + c] + a.[3 * r + 2] * b.[6 + c])

/// Rotation-only ICP from r: match, solve Procrustes, repeat while the summed CD falls and
/// the steps are not negligible. Point-to-point ICP slides along a surface in ever smaller
/// steps of one direction (each a fixed fraction of the last, so hundreds of them), so every
/// step D is also tried twice, four times, ... as far (D², D⁴, ...) while that lowers the CD
/// further. Returns the last rotation that lowered the CD, and its CD.
let private icp (pairs: Pair[]) (r: float[]) : float[] * float =
    let mutable current = r
    let mutable cd, m = matchAll pairs r
    let mutable step = 0
    while step < MaxIcpSteps do
        let next = procrustes m
        let nextCd, nextM = matchAll pairs next
        if nextCd < cd then
            let mutable best, bestCd, bestM = next, nextCd, nextM
            let mutable turn = multiply next (transpose current)
            let mutable doublings = 0
            while doublings < MaxDoublings do
                turn <- multiply turn turn
                let candidate = multiply turn current
                let c, cm = matchAll pairs candidate
                if c < bestCd then
                    best <- candidate
                    bestCd <- c
                    bestM <- cm
                    doublings <- doublings + 1
                else doublings <- MaxDoublings
            step <- if angleBetween current best < IcpToleranceRadians then MaxIcpSteps else step + 1
            current <- best
            cd <- bestCd
            m <- bestM
        else step <- MaxIcpSteps
    current, cd

// The stages of fitGlobalRotation (its signature says why each is there).

/// Points per cloud for the grid and the first refinements.
[<Literal>]
let private CoarsePoints = 64

/// Points per cloud for the second refinements.
[<Literal>]
let private MidPoints = 256

/// Rotations of the grid, besides the identity.
[<Literal>]
let private GridSize = 1000

/// Grid rotations refined on the coarse clouds.
[<Literal>]
let private CoarseStarts = 6

/// Starts closer than this to a better one fall in its basin and are skipped.
[<Literal>]
let private StartSeparationDegrees = 30.0

/// Coarse refinements refined again on the mid-sized clouds.
[<Literal>]
let private MidStarts = 2

let private identity = Transform.identity.Rotation

/// The rotations with the least scores, in order, each at least `separation` radians from
/// every one chosen before it; ties go to the earlier rotation.
let private distinctBest (count: int) (separation: float) (scored: (float[] * float)[]) =
    let order = Array.init scored.Length id |> Array.sortBy (fun k -> snd scored.[k], k)
    let chosen = ResizeArray<float[]>()
    for k in order do
        let r = fst scored.[k]
        if chosen.Count < count && chosen |> Seq.forall (fun c -> angleBetween c r >= separation) then chosen.Add r
    List.ofSeq chosen

let fitGlobalRotation (pairs: (float32[] * float32[]) list) : float[] =
    let fn = "PointCloudMetrics.fitGlobalRotation"
    if isNull (box pairs) || pairs.IsEmpty then invalidArg "pairs" (sprintf "%s: pairs is empty; it needs at least one (prediction, truth) pair" fn)
    pairs |> List.iteri (fun k (p, t) ->
        checkNamed fn "pairs" (sprintf "the prediction of pair %d" k) p
        checkNamed fn "pairs" (sprintf "the truth of pair %d" k) t)
    let full = Array.ofList pairs
    let reduced (size: int) =
        full |> Array.map (fun (p, t) -> farthestPointSample p (min size (p.Length / 3)), farthestPointSample t (min size (t.Length / 3)))
    let coarse = reduced CoarsePoints |> Array.map pairOf
    let grid = Array.append [| identity |] (spiralRotations GridSize)
    // Rotations in parallel, each summing its pairs in order: the same scores on any schedule.
    let scored = grid |> Array.Parallel.map (fun r -> r, coarse |> Array.sumBy (fun p -> fst (matchPair r p)))
    let separation = Rotation.radians StartSeparationDegrees
    let refined = distinctBest CoarseStarts separation scored |> List.map (icp coarse) |> Array.ofList
    let mid = reduced MidPoints |> Array.map pairOf
    let best =
        distinctBest MidStarts separation refined
        |> List.map (icp mid)
        |> List.minBy snd
        |> fst
        |> icp (Array.map pairOf full)
        |> fst
    // Judged by the metric itself on the full clouds, so the result never scores worse than
    // leaving the predictions as they are. A copy: the grid shares Transform.identity's array.
    let total (r: float[]) = full |> Array.sumBy (fun (p, t) -> chamferSquared (applyRotation r p) t)
    Array.copy (if total best <= total identity then best else identity)

// ---------------------------------------------------------------------- the scores of a pair

type PointCloudScores = { Chamfer: float; Emd: float }

let scores (pred: float32[]) (truth: float32[]) : PointCloudScores =
    checkEqualSizes "PointCloudMetrics.scores" pred truth
    let p = normalise (clip pred)
    let t = normalise truth
    { Chamfer = CdFactor * chamferSquared p t; Emd = emd p t }
