/// The point-cloud evaluation of Navaneet et al. (`PointCloudMetrics`): EMD against the
/// minimum over all permutations and, for larger clouds, against an optimality certificate
/// (no improving exchange cycle) and the bounds every assignment obeys; farthest-point
/// sampling against its O(N·count²) definition and its spacing guarantees; the normalisation
/// and the clipping as properties; CD against the all-pairs computation; the global rotation
/// against known rotations of asymmetric shapes.
module Reconstruct.Tests.PointCloudMetricsTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open Reconstruct.Torch
open Reconstruct.Geometry
open Reconstruct.Eval
open Reconstruct.Tests.TestHelpers
open Reconstruct.Tests.EvalTests

// ---------------------------------------------------------------------- helpers

/// Squared distance between point i of a and point j of b, in float64.
let private sq (a: float32[]) (i: int) (b: float32[]) (j: int) =
    let dx = float a.[3 * i] - float b.[3 * j]
    let dy = float a.[3 * i + 1] - float b.[3 * j + 1]
    let dz = float a.[3 * i + 2] - float b.[3 * j + 2]
    dx * dx + dy * dy + dz * dz

/// Mean squared distance when point i of a goes to point sigma.[i] of b.
let private costOf (a: float32[]) (b: float32[]) (sigma: int[]) =
    (Array.mapi (fun i j -> sq a i b j) sigma |> Array.sum) / float sigma.Length

/// Every permutation of 0..n-1.
let rec private permutations (items: int list) : int list seq =
    match items with
    | [] -> Seq.singleton []
    | _ -> seq { for x in items do for rest in permutations (List.filter ((<>) x) items) -> x :: rest }

let private isPermutation (n: int) (sigma: int[]) =
    sigma.Length = n && (Array.sort sigma = Array.init n id)

/// Whether some rows can trade columns around a cycle and lower the total cost: Floyd–Warshall
/// on the exchange graph, where the edge i -> k costs c(i, σ(k)) - c(i, σ(i)) (row i takes k's
/// column). An assignment is optimal exactly when this graph has no negative cycle.
let private improvingCycle (a: float32[]) (b: float32[]) (sigma: int[]) (tolerance: float) =
    let n = sigma.Length
    let d = Array2D.init n n (fun i k -> if i = k then 0.0 else sq a i b sigma.[k] - sq a i b sigma.[i])
    for m in 0 .. n - 1 do
        for i in 0 .. n - 1 do
            let dim = d.[i, m]
            for k in 0 .. n - 1 do
                let via = dim + d.[m, k]
                if via < d.[i, k] then d.[i, k] <- via
    Seq.init n (fun i -> d.[i, i]) |> Seq.exists (fun v -> v < -tolerance)

/// Points uniform in [-1, 1]³, or on a coarse lattice (many equal costs), or with repeats.
let private emdCloud (rng: Random) (n: int) =
    match rng.Next 3 with
    | 0 -> Array.init (3 * n) (fun _ -> float32 (rng.NextDouble() * 2.0 - 1.0))
    | 1 -> Array.init (3 * n) (fun _ -> float32 (rng.Next 3) * 0.5f)
    | _ ->
        let distinct = Array.init (3 * max 1 (n / 2)) (fun _ -> float32 (rng.NextDouble()))
        Array.init (3 * n) (fun k -> distinct.[3 * ((k / 3) % (distinct.Length / 3)) + k % 3])

let private shuffle (rng: Random) (points: float32[]) =
    let order = Array.init (points.Length / 3) id |> Array.sortBy (fun _ -> rng.Next())
    Array.init points.Length (fun k -> points.[3 * order.[k / 3] + k % 3])

/// Farthest-point sampling as defined, O(N·count²): each step recomputes every point's
/// distance to the nearest point taken, and takes the farthest (the lowest index on ties).
let private fpsByDefinition (points: float32[]) (count: int) =
    let n = points.Length / 3
    let taken = ResizeArray [ 0 ]
    while taken.Count < count do
        let mutable best, bestAt = -1.0, -1
        for i in 0 .. n - 1 do
            if not (taken.Contains i) then
                let d = taken |> Seq.map (fun j -> sq points i points j) |> Seq.min
                if d > best then
                    best <- d
                    bestAt <- i
        taken.Add bestAt
    taken.ToArray()

/// Least squared distance between two of the chosen points.
let private minSpacing (points: float32[]) (chosen: int[]) =
    seq { for a in 0 .. chosen.Length - 1 do for b in a + 1 .. chosen.Length - 1 -> sq points chosen.[a] points chosen.[b] } |> Seq.min

let private extent (points: float32[]) (axis: int) =
    let v = Array.init (points.Length / 3) (fun i -> float points.[3 * i + axis])
    Array.min v, Array.max v

/// An asymmetric closed shape (a level-3 icosphere pushed out radially by a lopsided
/// function with random coefficients): an instance of a category whose frame is fixed.
let private lumpy (rng: Random) =
    let c = Array.init 6 (fun _ -> 0.1 + 0.2 * rng.NextDouble())
    let v, f = Mesh.icosphereArrays 3
    let moved =
        v |> Array.map (fun p ->
            let r = 1.0 + c.[0] * p.[0] + c.[1] * p.[1] * p.[1] - c.[2] * p.[2] * p.[0] + c.[3] * p.[2] + c.[4] * p.[1] * p.[0] + c.[5] * p.[1]
            [| 0.5 * r * p.[0]; 0.4 * r * p.[1]; 0.3 * r * p.[2] |])
    Mesh.ofArrays moved f

/// The rotation of a rotation vector (radians · axis), row-major float64.
let private rotationOf (v: float[]) =
    use _ = DisposalScope.Open()
    (Rotation.fromAxisAngle (Tensor.ofArray v)).ToFloat64s()

let private angleDegrees (a: float[]) (b: float[]) =
    use _ = DisposalScope.Open()
    Rotation.degrees ((Rotation.geodesicAngle (Tensor.ofArray (a, [ 3; 3 ])) (Tensor.ofArray (b, [ 3; 3 ]))).ToScalar())

let private transpose (r: float[]) = Array.init 9 (fun k -> r.[3 * (k % 3) + k / 3])

/// `count` pairs of one category seen through a frame turned by `turn`: each truth is 1,024
/// points of a shape, its prediction 1,024 other points of the same shape turned by turnᵀ, so
/// `turn` brings the predictions onto the truths.
let private turnedPairs (seed: int) (count: int) (turn: float[]) =
    let rng = Random seed
    List.init count (fun k ->
        let shape = lumpy rng
        PointCloudMetrics.applyRotation (transpose turn) (sample (1000 * seed + 2 * k) 1024 shape), sample (1000 * seed + 2 * k + 1) 1024 shape)

let private expectOneLineError (argument: string) (expected: string) (f: unit -> unit) =
    let e = Expect.catchT<ArgumentException> f expected
    Expect.equal e.ParamName argument "the argument named"
    Expect.stringContains e.Message expected "what is wrong"
    Expect.isFalse (e.Message.Contains '\n') (sprintf "one line: %s" e.Message)

// ---------------------------------------------------------------------- tests

[<Tests>]
let tests =
    testList "PointCloudMetrics" [

        // ------------------------------------------------------------------ EMD

        testPropertyWithConfig (propertyConfig 60) "emd: equals the least cost over all permutations for N up to 7" (
            Prop.forAll seeds (fun seed ->
                let rng = Random seed
                let n = 1 + rng.Next 7
                let a, b = emdCloud rng n, emdCloud rng n
                let best = permutations [ 0 .. n - 1 ] |> Seq.map (fun p -> costOf a b (Array.ofList p)) |> Seq.min
                let sigma = PointCloudMetrics.emdAssignment a b
                Expect.isTrue (isPermutation n sigma) (sprintf "a permutation: %A" sigma)
                assertClose 1e-12 1e-12 [| best; best |] [| PointCloudMetrics.emd a b; costOf a b sigma |]))

        testPropertyWithConfig (propertyConfig 12) "emd: optimal for N of 60 to 200 (no improving exchange cycle), between the Chamfer bound and random permutations, and blind to point order" (
            Prop.forAll seeds (fun seed ->
                let rng = Random seed
                let n = 60 + rng.Next 141
                let a, b = emdCloud rng n, emdCloud rng n
                let value = PointCloudMetrics.emd a b
                let sigma = PointCloudMetrics.emdAssignment a b
                Expect.isTrue (isPermutation n sigma) "a permutation"
                assertClose 1e-12 1e-12 [| costOf a b sigma |] [| value |]
                Expect.isFalse (improvingCycle a b sigma 1e-9) "some rows can trade columns and lower the cost"
                // Each point's match is at least as far as its nearest neighbour.
                let bound = max (Array.average (bruteDistances64 a b)) (Array.average (bruteDistances64 b a))
                Expect.isGreaterThanOrEqual value (bound - 1e-12) "EMD is below the Chamfer lower bound"
                for _ in 1..20 do
                    let random = Array.init n id |> Array.sortBy (fun _ -> rng.Next())
                    Expect.isLessThanOrEqual value (costOf a b random + 1e-12) "a random permutation costs less"
                assertClose 1e-12 1e-12 [| value; value |] [| PointCloudMetrics.emd (shuffle rng a) (shuffle rng b); PointCloudMetrics.emd b a |]))

        test "emd: 0 against itself in another order, |t|² against a translated copy, for 1,024 points" {
            let rng = Random 7
            let a = Array.init (3 * 1024) (fun _ -> float32 (rng.NextDouble() - 0.5))
            Expect.equal (PointCloudMetrics.emd a (shuffle rng a)) 0.0 "EMD of a cloud with itself"
            let t = [| 0.1; -0.05; 0.2 |]
            let moved = a |> Array.mapi (fun k v -> float32 (float v + t.[k % 3]))
            // The moved copy is rounded to float32: the exact mean squared shift is the reference.
            let shift = Array.init 1024 (fun i -> sq a i moved i) |> Array.average
            assertClose 1e-7 0.0 [| 0.0525 |] [| shift |]
            assertClose 1e-12 1e-12 [| shift |] [| PointCloudMetrics.emd a moved |]
            Expect.equal (PointCloudMetrics.emdAssignment a moved) (Array.init 1024 id) "each point goes to its own copy"
        }

        test "emd: bad inputs raise one-line errors naming the argument" {
            let three = [| 0.0f; 0.0f; 0.0f; 1.0f; 0.0f; 0.0f; 0.0f; 1.0f; 0.0f |]
            expectOneLineError "truth" "equal sizes" (fun () -> PointCloudMetrics.emd three (Array.sub three 0 6) |> ignore)
            expectOneLineError "pred" "empty" (fun () -> PointCloudMetrics.emd [||] three |> ignore)
            expectOneLineError "truth" "empty" (fun () -> PointCloudMetrics.emdAssignment three [||] |> ignore)
            expectOneLineError "pred" "multiple of 3" (fun () -> PointCloudMetrics.emd [| 1.0f |] three |> ignore)
            expectOneLineError "truth" "finite" (fun () -> PointCloudMetrics.emd three (Array.append (Array.sub three 0 6) [| 0.0f; nanf; 0.0f |]) |> ignore)
        }

        // ------------------------------------------------------------------ farthest-point sampling

        testPropertyWithConfig (propertyConfig 40) "fps: equals its O(N·count²) definition; distinct indices starting at 0; a subset in that order" (
            Prop.forAll seeds (fun seed ->
                let rng = Random seed
                let points = randomCloud rng (1 + rng.Next 150)
                let n = points.Length / 3
                let count = 1 + rng.Next n
                let chosen = PointCloudMetrics.farthestPointIndices points count
                Expect.equal chosen (fpsByDefinition points count) "indices"
                Expect.equal chosen.[0] 0 "the first point"
                Expect.equal (Array.distinct chosen).Length count "distinct"
                let sample = PointCloudMetrics.farthestPointSample points count
                Expect.equal sample (Array.init (3 * count) (fun k -> points.[3 * chosen.[k / 3] + k % 3])) "the points of the indices"))

        testPropertyWithConfig (propertyConfig 40) "fps: one point per cluster on separated clusters, spaced wider than the first points; never below half any subset's spacing" (
            Prop.forAll seeds (fun seed ->
                let rng = Random seed
                // Clusters of radius ≤ 0.01 whose centres are ≥ 1 apart (a 4-lattice of spacing 1),
                // listed cluster by cluster, so the first points share a cluster.
                let clusters = 2 + rng.Next 10
                let centres = Array.init 64 id |> Array.sortBy (fun _ -> rng.Next()) |> Array.take clusters
                let perCluster = 2 + rng.Next 5
                let points =
                    Array.init (3 * clusters * perCluster) (fun k ->
                        let c = centres.[k / 3 / perCluster]
                        let centre = float ((c >>> (2 * (k % 3))) &&& 3)
                        float32 (centre + 0.01 * (rng.NextDouble() - 0.5)))
                let count = 2 + rng.Next (clusters - 1)
                let chosen = PointCloudMetrics.farthestPointIndices points count
                let clusterOf i = i / perCluster
                Expect.equal (chosen |> Array.map clusterOf |> Array.distinct).Length count "one point per cluster"
                let first = Array.init count id
                Expect.isGreaterThanOrEqual (minSpacing points chosen) (minSpacing points first) "spacing of the first points"
                // Any count points have two within one of the count - 1 balls of radius d_FPS about the
                // first count - 1 points taken (they cover the cloud), hence within 2 d_FPS.
                let general = randomCloud rng (count + rng.Next 100)
                let taken = PointCloudMetrics.farthestPointIndices general count
                for _ in 1..10 do
                    let subset = Array.init (general.Length / 3) id |> Array.sortBy (fun _ -> rng.Next()) |> Array.take count
                    Expect.isGreaterThanOrEqual (4.0 * minSpacing general taken) (minSpacing general subset - 1e-12) "half the spacing of a subset"))

        test "fps: bad inputs raise one-line errors naming the argument" {
            let two = [| 0.0f; 0.0f; 0.0f; 1.0f; 0.0f; 0.0f |]
            expectOneLineError "count" "1..2" (fun () -> PointCloudMetrics.farthestPointIndices two 3 |> ignore)
            expectOneLineError "count" "1..2" (fun () -> PointCloudMetrics.farthestPointSample two 0 |> ignore)
            expectOneLineError "points" "empty" (fun () -> PointCloudMetrics.farthestPointSample [||] 1 |> ignore)
        }

        // ------------------------------------------------------------------ normalising and clipping

        testPropertyWithConfig (propertyConfig 60) "normalise: largest side 1, box centred at 0, the same for any shift and scale of the input" (
            Prop.forAll seeds (fun seed ->
                let rng = Random seed
                let n = 2 + rng.Next 300
                let stretch = Array.init 3 (fun _ -> 0.01 + 5.0 * rng.NextDouble())
                let points = Array.init (3 * n) (fun k -> float32 (stretch.[k % 3] * (rng.NextDouble() - 0.5) + 3.0))
                let normalised = PointCloudMetrics.normalise points
                let sides = [| for a in 0..2 -> let lo, hi = extent normalised a in hi - lo |]
                assertClose 1e-6 0.0 [| 1.0 |] [| Array.max sides |]
                for a in 0..2 do
                    let lo, hi = extent normalised a
                    assertClose 1e-6 0.0 [| 0.0 |] [| (lo + hi) / 2.0 |]
                // A similarity of the input changes nothing beyond float32 rounding.
                let s, t = 0.1 + 10.0 * rng.NextDouble(), Array.init 3 (fun _ -> rng.NextDouble() * 4.0 - 2.0)
                let moved = points |> Array.mapi (fun k v -> float32 (s * float v + t.[k % 3]))
                assertClose 1e-5 0.0 (Array.map float normalised) (Array.map float (PointCloudMetrics.normalise moved))))

        testPropertyWithConfig (propertyConfig 60) "clip: coordinates clamped to ±0.5 one by one; inside points untouched" (
            Prop.forAll seeds (fun seed ->
                let rng = Random seed
                let points = Array.init (3 * (1 + rng.Next 200)) (fun _ -> float32 (rng.NextDouble() * 2.0 - 1.0))
                let clipped = PointCloudMetrics.clip points
                Expect.equal clipped.Length points.Length "size"
                for k in 0 .. points.Length - 1 do
                    let expected = if points.[k] > 0.5f then 0.5f elif points.[k] < -0.5f then -0.5f else points.[k]
                    Expect.equal clipped.[k] expected (sprintf "coordinate %d" k)))

        // ------------------------------------------------------------------ CD and the scores

        testPropertyWithConfig (propertyConfig 40) "chamferSquared: equals the all-pairs float64 computation" (
            Prop.forAll seeds (fun seed ->
                let rng = Random seed
                let a, b = randomCloud rng (1 + rng.Next 300), randomCloud rng (1 + rng.Next 300)
                let expected = Array.average (bruteDistances64 a b) + Array.average (bruteDistances64 b a)
                assertClose 1e-12 1e-6 [| expected |] [| PointCloudMetrics.chamferSquared a b |]))

        test "scores: CD ×10³ and EMD of the clipped prediction and the normalised clouds" {
            let rng = Random 5
            let shape = lumpy rng
            let truth = PointCloudMetrics.normalise (sample 1 512 shape)
            // A prediction at another scale and place, with ten strays beyond ±0.5 that clipping
            // pulls in.
            let pred = PointCloudMetrics.normalise (sample 2 512 shape) |> Array.mapi (fun k v -> if k < 30 then v * 3.0f else 0.8f * v + 0.05f)
            let s = PointCloudMetrics.scores pred truth
            let p, t = PointCloudMetrics.normalise (PointCloudMetrics.clip pred), PointCloudMetrics.normalise truth
            assertClose 0.0 1e-12 [| 1000.0 * PointCloudMetrics.chamferSquared p t; PointCloudMetrics.emd p t |] [| s.Chamfer; s.Emd |]
            Expect.isLessThan (PointCloudMetrics.clip pred |> Array.map abs |> Array.max) 0.50001f "clipped"
            Expect.isLessThan s.Chamfer (1000.0 * PointCloudMetrics.chamferSquared pred truth) "normalising the prediction helps"
            // The truth at any scale and place scores the same.
            let bigger = truth |> Array.mapi (fun k v -> 2.5f * v + float32 (k % 3))
            let s2 = PointCloudMetrics.scores pred bigger
            assertClose 0.0 1e-4 [| s.Chamfer; s.Emd |] [| s2.Chamfer; s2.Emd |]
            let same = PointCloudMetrics.scores truth truth
            Expect.equal (same.Chamfer, same.Emd) (0.0, 0.0) "a cloud against itself"
            expectOneLineError "truth" "equal sizes" (fun () -> PointCloudMetrics.scores pred (Array.sub truth 0 30) |> ignore)
        }

        // ------------------------------------------------------------------ the global rotation

        test "fitGlobalRotation: recovers known rotations of asymmetric shapes, az 180° among them, within a degree" {
            let az180 = rotationOf [| 0.0; Math.PI; 0.0 |]
            let paperStart =
                use _ = DisposalScope.Open()
                let r x = Tensor.ofArray [| Rotation.radians x |]
                (Rotation.fromEuler (r 29.0) (r 0.0) (r 270.0)).ToFloat64s()
            let rng = Random 3
            let randomTurn () =
                let axis = Array.init 3 (fun _ -> rng.NextDouble() - 0.5)
                let len = sqrt (Array.sumBy (fun x -> x * x) axis)
                let angle = Math.PI * (0.2 + 0.8 * rng.NextDouble())
                rotationOf (axis |> Array.map (fun x -> angle * x / len))
            for name, turn in [ "az 180", az180; "Euler (29, 0, 270)", paperStart; "random 1", randomTurn (); "random 2", randomTurn (); "identity", rotationOf [| 0.0; 0.0; 0.0 |] ] do
                let pairs = turnedPairs 17 8 turn
                let fitted = PointCloudMetrics.fitGlobalRotation pairs
                let error = angleDegrees fitted turn
                Expect.isLessThan error 1.0 (sprintf "%s: %.3f° from the true rotation" name error)
                let cd r = pairs |> List.sumBy (fun (p, t) -> PointCloudMetrics.chamferSquared (PointCloudMetrics.applyRotation r p) t)
                Expect.isLessThanOrEqual (cd fitted) (cd (rotationOf [| 0.0; 0.0; 0.0 |])) (sprintf "%s: CD after <= CD before" name)
        }

        test "fitGlobalRotation: never raises the CD, is deterministic, returns a proper rotation" {
            // Unrelated clouds: no rotation fits well, and the CD after must not exceed the CD before.
            let rng = Random 9
            let pairs = List.init 5 (fun _ -> randomCloud rng 200, randomCloud rng 300)
            let fitted = PointCloudMetrics.fitGlobalRotation pairs
            let cd r = pairs |> List.sumBy (fun (p, t) -> PointCloudMetrics.chamferSquared (PointCloudMetrics.applyRotation r p) t)
            let identity = [| 1.0; 0.0; 0.0; 0.0; 1.0; 0.0; 0.0; 0.0; 1.0 |]
            Expect.isLessThanOrEqual (cd fitted) (cd identity) "CD after <= CD before"
            Expect.equal (PointCloudMetrics.fitGlobalRotation pairs) fitted "the same result twice"
            use _ = DisposalScope.Open()
            let r = Tensor.ofArray (fitted, [ 3; 3 ])
            assertClose 1e-9 0.0 [| 1.0 |] [| r.det().ToScalar() |]
            assertClose 1e-9 0.0 (identity) ((r.matmul r.mT).ToFloat64s())
            expectOneLineError "pairs" "empty" (fun () -> PointCloudMetrics.fitGlobalRotation [] |> ignore)
            expectOneLineError "pairs" "the truth of pair 1 is empty" (fun () -> PointCloudMetrics.fitGlobalRotation [ pairs.Head; (fst pairs.Head, [||]) ] |> ignore)
        }

        test "applyRotation: R x for each point; bad rotations are named" {
            let r = rotationOf [| 0.0; 0.0; Math.PI / 2.0 |]
            let moved = PointCloudMetrics.applyRotation r [| 1.0f; 0.0f; 0.0f; 0.0f; 2.0f; 3.0f |]
            assertClose 1e-7 0.0 [| 0.0; 1.0; 0.0; -2.0; 0.0; 3.0 |] (Array.map float moved)
            expectOneLineError "rotation" "9 finite values" (fun () -> PointCloudMetrics.applyRotation [| 1.0 |] [| 0.0f; 0.0f; 0.0f |] |> ignore)
        }
    ]
